/**
 * DriveLM object tags (adaptation.md §4.5): the source writes `<cN,CAM,x,y>` with the object centre in
 * pixels of that 1600×900 camera; the model is trained on `<cN,CAM,[X,Y]>`, the same point in the
 * 0–1000 frame of the stitched 2688×896 image. The inverse is the evaluation's post-processing
 * (evaluation.md §10.1), reproduced exactly, including its integer clamp bounds.
 */
import { roundHalfEven } from '../format/boxes.ts';

export const CAMERAS = ['CAM_FRONT_LEFT', 'CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_BACK_LEFT', 'CAM_BACK', 'CAM_BACK_RIGHT'] as const;
export type Camera = (typeof CAMERAS)[number];

/** Grid position (column, row) of each camera in the stitched image. */
export const CAMERA_GRID: Record<Camera, readonly [number, number]> = {
  CAM_FRONT_LEFT: [0, 0], CAM_FRONT: [1, 0], CAM_FRONT_RIGHT: [2, 0],
  CAM_BACK_LEFT: [0, 1], CAM_BACK: [1, 1], CAM_BACK_RIGHT: [2, 1],
};

export const CAMERA_WIDTH = 1600;
export const CAMERA_HEIGHT = 900;
export const VIEW_WIDTH = 896;
export const VIEW_HEIGHT = 448;
export const STITCHED_WIDTH = 3 * VIEW_WIDTH; // 2688
export const STITCHED_HEIGHT = 2 * VIEW_HEIGHT; // 896

export function isCamera(s: string): s is Camera {
  return (CAMERAS as readonly string[]).includes(s);
}

/** Camera pixel (x, y) → integer 0–1000 point of the stitched image (Python `round`, assumed by the spec). */
export function cameraToStitched(cam: Camera, x: number, y: number): [number, number] {
  const [mx, my] = CAMERA_GRID[cam];
  const X = ((mx * VIEW_WIDTH + (x / CAMERA_WIDTH) * VIEW_WIDTH) / STITCHED_WIDTH) * 1000;
  const Y = ((my * VIEW_HEIGHT + (y / CAMERA_HEIGHT) * VIEW_HEIGHT) / STITCHED_HEIGHT) * 1000;
  return [roundHalfEven(X), roundHalfEven(Y)];
}

/**
 * Stitched 0–1000 point → camera pixels, as the evaluation does: clamp to [0, 1600] / [0, 900], then round
 * to one decimal.
 */
export function stitchedToCamera(cam: Camera, X: number, Y: number): [number, number] {
  const [mx, my] = CAMERA_GRID[cam];
  let cx = (X / 1000) * STITCHED_WIDTH - mx * VIEW_WIDTH;
  let cy = (Y / 1000) * STITCHED_HEIGHT - my * VIEW_HEIGHT;
  cx = (cx / VIEW_WIDTH) * CAMERA_WIDTH;
  cy = (cy / VIEW_HEIGHT) * CAMERA_HEIGHT;
  return [roundTo1(Math.max(0, Math.min(CAMERA_WIDTH, cx))), roundTo1(Math.max(0, Math.min(CAMERA_HEIGHT, cy)))];
}

/**
 * Python `round(x, 1)`: the nearest one-decimal value to the exact double; exact ties (x·4 odd, the only
 * representable ones) go to even, where JS toFixed would go up.
 */
export function roundTo1(x: number): number {
  if (Number.isInteger(x * 4) && !Number.isInteger(x * 2)) return roundHalfEven(x * 10) / 10;
  return Number(x.toFixed(1));
}

/** Python's float `str()` for the values here: integers keep `.0` unless they came from the integer clamp. */
function pyFloat(v: number, clampedToInt: boolean): string {
  if (clampedToInt) return String(v);
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

const SOURCE_TAG = /<c(\d+),(CAM_[A-Z_]+),(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)>/g;
const STITCHED_TAG = /<c[^,]*,\s*[^,]*,\s*\[\s*-?[0-9]*\.?[0-9]+\s*,\s*-?[0-9]*\.?[0-9]+\s*\]\s*>/g;

/**
 * Rewrites every source tag of a text to stitched coordinates. Tags naming an unknown camera or a point
 * outside the 1600×900 view are reported (the caller decides to skip) and left unchanged.
 */
export function tagsToStitched(text: string): { text: string; problems: string[] } {
  const problems: string[] = [];
  const out = text.replace(SOURCE_TAG, (whole, id: string, cam: string, xs: string, ys: string) => {
    const x = Number(xs);
    const y = Number(ys);
    if (!isCamera(cam)) {
      problems.push(`${whole}: unknown camera ${cam}`);
      return whole;
    }
    if (x < 0 || x > CAMERA_WIDTH || y < 0 || y > CAMERA_HEIGHT) {
      problems.push(`${whole}: centre outside the ${CAMERA_WIDTH}x${CAMERA_HEIGHT} camera image`);
      return whole;
    }
    const [X, Y] = cameraToStitched(cam, x, y);
    return `<c${id},${cam},[${X},${Y}]>`;
  });
  return { text: out, problems };
}

/** The evaluation's inverse: `<cN,CAM,[X,Y]>` → `<cN,CAM,cx,cy>`; unknown cameras stay as they are. */
export function tagsToCamera(text: string): string {
  return text.replace(STITCHED_TAG, (whole) => {
    const m = /^<([^,]*),\s*([^,]*),\s*\[\s*(-?[0-9]*\.?[0-9]+)\s*,\s*(-?[0-9]*\.?[0-9]+)\s*\]\s*>$/.exec(whole);
    if (!m || !isCamera(m[2]!)) return whole;
    const cam = m[2] as Camera;
    const [mx, my] = CAMERA_GRID[cam];
    const rawX = (((Number(m[3]) / 1000) * STITCHED_WIDTH - mx * VIEW_WIDTH) / VIEW_WIDTH) * CAMERA_WIDTH;
    const rawY = (((Number(m[4]) / 1000) * STITCHED_HEIGHT - my * VIEW_HEIGHT) / VIEW_HEIGHT) * CAMERA_HEIGHT;
    const [cx, cy] = stitchedToCamera(cam, Number(m[3]), Number(m[4]));
    // max(0, min(1600, v)) returns the int bound itself when v reaches or passes it (Python keeps the first of equals).
    const xInt = rawX <= 0 || rawX >= CAMERA_WIDTH;
    const yInt = rawY <= 0 || rawY >= CAMERA_HEIGHT;
    return `<${m[1]},${cam},${pyFloat(cx, xInt)},${pyFloat(cy, yInt)}>`;
  });
}

/** Every stitched tag of a text as { id, camera, X, Y } (for drawing and checks). */
export function stitchedTags(text: string): Array<{ id: string; camera: string; x: number; y: number }> {
  const out = [];
  for (const m of text.matchAll(/<(c[^,]*),\s*([^,]*),\s*\[\s*(-?[0-9]*\.?[0-9]+)\s*,\s*(-?[0-9]*\.?[0-9]+)\s*\]\s*>/g)) {
    out.push({ id: m[1]!, camera: m[2]!, x: Number(m[3]), y: Number(m[4]) });
  }
  return out;
}
