/** DIOR-RSVG visual grounding, acc@0.5 (evaluation.md §10.4). */

export type Box = [number, number, number, number];

const BOX_RE = /\[*\[.*?,.*?,.*?,.*?\]\]*/g;

/**
 * The reference's box parsing: JSON of the first `[[x1,y1,x2,y2]]`-like match, its first box, mapped from 0–1000 to
 * pixels and clamped to the image. null = a miss (no match, unparsable, or not a list of lists).
 */
export function parseGroundingBox(answer: string, width: number, height: number): Box | null {
  const m = answer.match(BOX_RE);
  if (!m) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(m[0]);
  } catch {
    return null;
  }
  const box = Array.isArray(parsed) ? parsed[0] : undefined;
  if (!Array.isArray(box) || box.length !== 4 || !box.every((v) => typeof v === 'number')) return null; // `x1, y1, x2, y2 = bbox`
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const [x1, y1, x2, y2] = box as number[];
  return [clamp((x1! * width) / 1000, width), clamp((y1! * height) / 1000, height), clamp((x2! * width) / 1000, width), clamp((y2! * height) / 1000, height)];
}

/** IoU; `plusOne` is the reference's inclusive-pixel convention (+1 on every side length). */
export function iou(a: Box, b: Box, plusOne = true): number {
  const k = plusOne ? 1 : 0;
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]) + k);
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]) + k);
  const inter = iw * ih;
  const area = (r: Box) => (r[2] - r[0] + k) * (r[3] - r[1] + k);
  const union = area(a) + area(b) - inter;
  return union <= 0 ? 0 : inter / union;
}

/** One item: IoU > 0.5 with +1 areas; `textbook` (quirk §11.10 fixed) = IoU ≥ 0.5 without +1. */
export function groundingCorrect(answer: string, gt: Box, size: [number, number], textbook = false): { correct: boolean; iou: number | null } {
  const box = parseGroundingBox(answer, size[0], size[1]);
  if (!box) return { correct: false, iou: null };
  const v = iou(box, gt, !textbook);
  return { correct: textbook ? v >= 0.5 : v > 0.5, iou: v };
}
