/**
 * Grounding syntax (prompting.md §7): `<ref>text</ref><box>[[x1, y1, x2, y2], ...]</box>`, coordinates
 * integers in 0..1000 normalized by the ORIGINAL image width (x) and height (y).
 */

/** A box in pixels of the original image: top-left (x1, y1), bottom-right (x2, y2). */
export type Box = [x1: number, y1: number, x2: number, y2: number];

/** One grounded phrase: its `<ref>` text (null for a box without a ref) and its boxes. */
export interface GroundedRef {
  ref: string | null;
  /** Boxes in pixels: x * width / 1000, y * height / 1000 (not rounded, not clamped). */
  boxes: Box[];
  /** The same boxes as written by the model (0..1000). */
  normalized: Box[];
}

const NUM = String.raw`\s*(-?\d+(?:\.\d+)?)\s*`;
const QUAD_RE = new RegExp(String.raw`\[${NUM},${NUM},${NUM},${NUM}\]`, 'g');
// A ref with an optional box right after it, or a box alone; or, in tag-stripped answers (the default
// chat() output drops special tokens), a bare [[...]] list.
const ITEM_RE = /<ref>([\s\S]*?)<\/ref>(\s*<box>([\s\S]*?)<\/box>)?|<box>([\s\S]*?)<\/box>|(\[\[[^[\]]*\](?:\s*,\s*\[[^[\]]*\])*\])/g;

function parseQuads(s: string): Box[] {
  const out: Box[] = [];
  for (const m of s.matchAll(QUAD_RE)) out.push([Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])]);
  return out;
}

/** Converts 0..1000 coordinates to pixels of a width x height image. */
export function denormalizeBox(b: Box, width: number, height: number): Box {
  // x * W / 1000 (multiply first) is exact for integer inputs, unlike x / 1000 * W.
  return [(b[0] * width) / 1000, (b[1] * height) / 1000, (b[2] * width) / 1000, (b[3] * height) / 1000];
}

/**
 * Extracts every `<ref>...</ref>` (with the `<box>` that follows it, if any), every lone `<box>`, and — for
 * answers whose tags were stripped — every bare `[[x1, y1, x2, y2], ...]` list, in text order, with boxes
 * mapped to pixels of the original image.
 */
export function parseGrounding(text: string, width: number, height: number): GroundedRef[] {
  const out: GroundedRef[] = [];
  for (const m of text.matchAll(ITEM_RE)) {
    let ref: string | null = null;
    let boxText = '';
    if (m[1] !== undefined) {
      ref = m[1].trim();
      boxText = m[3] ?? '';
    } else {
      boxText = m[4] ?? m[5] ?? '';
    }
    const normalized = parseQuads(boxText);
    if (ref === null && normalized.length === 0) continue;
    out.push({ ref, normalized, boxes: normalized.map((b) => denormalizeBox(b, width, height)) });
  }
  return out;
}

/** Writes boxes (already 0..1000 integers) the way the models emit them: `<box>[[a, b, c, d], [e, f, g, h]]</box>`. */
export function formatBoxes(boxes: Box[]): string {
  return `<box>[${boxes.map((b) => `[${b.join(', ')}]`).join(', ')}]</box>`;
}

/** `<ref>text</ref>` followed by its boxes. */
export function formatGrounding(ref: string, boxes: Box[]): string {
  return `<ref>${ref}</ref>${formatBoxes(boxes)}`;
}
