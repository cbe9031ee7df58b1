/**
 * Boxes in the 0–1000 coordinate system of InternVL (adaptation.md §2.4): normalisation with Python's
 * round-half-to-even, and parsing/formatting of `<box>[[x1, y1, x2, y2], ...]</box>`.
 */
import { fail } from '../../errors.ts';
import { roundHalfEven } from '../../image/index.ts';

/** Python's `round` (ties to even), re-exported for the converters: Math.round would round 562.5 up. */
export { roundHalfEven };

export type Box4 = [number, number, number, number];

/** Pixel xyxy box of a W×H image → integer 0–1000 box, each coordinate `round(v / size * 1000)`. */
export function normalizeBox(box: readonly number[], width: number, height: number): Box4 {
  if (box.length !== 4 || !box.every(Number.isFinite)) fail(`a box needs four finite numbers, got ${JSON.stringify(box)}`);
  if (!(width > 0 && height > 0)) fail(`image size must be positive to normalise a box, got ${width}x${height}`);
  const [x1, y1, x2, y2] = box as Box4;
  return [roundHalfEven((x1 / width) * 1000), roundHalfEven((y1 / height) * 1000), roundHalfEven((x2 / width) * 1000), roundHalfEven((y2 / height) * 1000)];
}

/** 0–1000 box → pixels of a W×H image (`v / 1000 * size`, unrounded). */
export function denormalizeBox(box: readonly number[], width: number, height: number): Box4 {
  const [x1, y1, x2, y2] = box as Box4;
  return [(x1 / 1000) * width, (y1 / 1000) * height, (x2 / 1000) * width, (y2 / 1000) * height];
}

/** `<box>[[a, b, c, d], [e, f, g, h]]</box>` (the reference writes ", " between numbers and lists). */
export function formatBox(boxes: ReadonlyArray<readonly number[]>): string {
  return `<box>[${boxes.map((b) => `[${b.join(', ')}]`).join(', ')}]</box>`;
}

/** A `<box>` element found in a text: its lists of numbers, or why it could not be read. */
export interface FoundBox {
  /** Offset of `<box>` in the text. */
  at: number;
  boxes: number[][];
  error?: string;
}

const BOX_RE = /<box>([\s\S]*?)<\/box>/g;

/** Every `<box>...</box>` in a text with its coordinate lists (read as JSON). */
export function parseBoxes(text: string): FoundBox[] {
  const out: FoundBox[] = [];
  for (const m of text.matchAll(BOX_RE)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(m[1]!);
    } catch {
      out.push({ at: m.index!, boxes: [], error: `cannot read ${JSON.stringify(m[0])} (expected [[x1, y1, x2, y2], ...])` });
      continue;
    }
    const lists = Array.isArray(parsed) && parsed.every((b) => Array.isArray(b)) ? (parsed as unknown[][]) : null;
    if (!lists || lists.length === 0 || !lists.every((b) => b.length === 4 && b.every((v) => typeof v === 'number'))) {
      out.push({ at: m.index!, boxes: [], error: `${JSON.stringify(m[0])} is not a list of [x1, y1, x2, y2] boxes` });
      continue;
    }
    out.push({ at: m.index!, boxes: lists as number[][] });
  }
  return out;
}

/** Why a 0–1000 box is not valid, or null: coordinates in 0..1000, x1 ≤ x2 and y1 ≤ y2. */
export function normalizedBoxProblem(b: readonly number[]): string | null {
  if (b.some((v) => v < 0 || v > 1000)) return `box [${b.join(', ')}] is outside 0..1000 (boxes are normalised to 0–1000, not 0–1 or pixels)`;
  if (b[0]! > b[2]! || b[1]! > b[3]!) return `box [${b.join(', ')}] has x1 > x2 or y1 > y2`;
  return null;
}
