/**
 * Minimal drawing on RGB buffers: filled rectangles, outlines and text in an embedded 5×7 bitmap font.
 * Hand-written because every text renderer reachable from Node (sharp's text/SVG via Pango, fontconfig)
 * depends on fonts installed on the machine, and a fresh CI machine may have none; the stitched
 * DriveLM labels and the preview must come out the same everywhere.
 */
import type { RgbImage } from '../../image/index.ts';

export type Rgb = readonly [number, number, number];

/** 5×7 glyphs, one string of 7 rows per character, '#' = ink. Covers camera names, digits and a few marks. */
const GLYPHS: Record<string, readonly string[]> = {
  A: ['.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  B: ['####.', '#...#', '#...#', '####.', '#...#', '#...#', '####.'],
  C: ['.###.', '#...#', '#....', '#....', '#....', '#...#', '.###.'],
  D: ['####.', '#...#', '#...#', '#...#', '#...#', '#...#', '####.'],
  E: ['#####', '#....', '#....', '####.', '#....', '#....', '#####'],
  F: ['#####', '#....', '#....', '####.', '#....', '#....', '#....'],
  G: ['.###.', '#...#', '#....', '#.###', '#...#', '#...#', '.####'],
  H: ['#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  I: ['.###.', '..#..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  J: ['..###', '...#.', '...#.', '...#.', '...#.', '#..#.', '.##..'],
  K: ['#...#', '#..#.', '#.#..', '##...', '#.#..', '#..#.', '#...#'],
  L: ['#....', '#....', '#....', '#....', '#....', '#....', '#####'],
  M: ['#...#', '##.##', '#.#.#', '#.#.#', '#...#', '#...#', '#...#'],
  N: ['#...#', '#...#', '##..#', '#.#.#', '#..##', '#...#', '#...#'],
  O: ['.###.', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  P: ['####.', '#...#', '#...#', '####.', '#....', '#....', '#....'],
  Q: ['.###.', '#...#', '#...#', '#...#', '#.#.#', '#..#.', '.##.#'],
  R: ['####.', '#...#', '#...#', '####.', '#.#..', '#..#.', '#...#'],
  S: ['.####', '#....', '#....', '.###.', '....#', '....#', '####.'],
  T: ['#####', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..'],
  U: ['#...#', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  V: ['#...#', '#...#', '#...#', '#...#', '#...#', '.#.#.', '..#..'],
  W: ['#...#', '#...#', '#...#', '#.#.#', '#.#.#', '#.#.#', '.#.#.'],
  X: ['#...#', '#...#', '.#.#.', '..#..', '.#.#.', '#...#', '#...#'],
  Y: ['#...#', '#...#', '.#.#.', '..#..', '..#..', '..#..', '..#..'],
  Z: ['#####', '....#', '...#.', '..#..', '.#...', '#....', '#####'],
  '0': ['.###.', '#...#', '#..##', '#.#.#', '##..#', '#...#', '.###.'],
  '1': ['..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  '2': ['.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####'],
  '3': ['####.', '....#', '....#', '.###.', '....#', '....#', '####.'],
  '4': ['...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.'],
  '5': ['#####', '#....', '####.', '....#', '....#', '#...#', '.###.'],
  '6': ['.###.', '#....', '#....', '####.', '#...#', '#...#', '.###.'],
  '7': ['#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...'],
  '8': ['.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.'],
  '9': ['.###.', '#...#', '#...#', '.####', '....#', '....#', '.###.'],
  _: ['.....', '.....', '.....', '.....', '.....', '.....', '#####'],
  '-': ['.....', '.....', '.....', '#####', '.....', '.....', '.....'],
  '.': ['.....', '.....', '.....', '.....', '.....', '.##..', '.##..'],
  ',': ['.....', '.....', '.....', '.....', '.##..', '..#..', '.#...'],
  ':': ['.....', '.##..', '.##..', '.....', '.##..', '.##..', '.....'],
  '#': ['.#.#.', '.#.#.', '#####', '.#.#.', '#####', '.#.#.', '.#.#.'],
  ' ': ['.....', '.....', '.....', '.....', '.....', '.....', '.....'],
  '?': ['.###.', '#...#', '....#', '...#.', '..#..', '.....', '..#..'],
};

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;

/** Sets the pixel (x, y) if it is inside the image. */
function put(img: RgbImage, x: number, y: number, c: Rgb): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const i = (y * img.width + x) * 3;
  img.data[i] = c[0];
  img.data[i + 1] = c[1];
  img.data[i + 2] = c[2];
}

export function fillRect(img: RgbImage, x0: number, y0: number, w: number, h: number, c: Rgb): void {
  const xa = Math.max(0, Math.floor(x0));
  const ya = Math.max(0, Math.floor(y0));
  const xb = Math.min(img.width, Math.floor(x0 + w));
  const yb = Math.min(img.height, Math.floor(y0 + h));
  for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) put(img, x, y, c);
}

/** Rectangle outline from (x1, y1) to (x2, y2) inclusive, `t` pixels thick, drawn inward. */
export function strokeRect(img: RgbImage, x1: number, y1: number, x2: number, y2: number, c: Rgb, t = 2): void {
  const [a, b] = [Math.round(Math.min(x1, x2)), Math.round(Math.max(x1, x2))];
  const [p, q] = [Math.round(Math.min(y1, y2)), Math.round(Math.max(y1, y2))];
  fillRect(img, a, p, b - a + 1, t, c);
  fillRect(img, a, q - t + 1, b - a + 1, t, c);
  fillRect(img, a, p, t, q - p + 1, c);
  fillRect(img, b - t + 1, p, t, q - p + 1, c);
}

/** Width in pixels of `text` drawn at `scale` (1 px of space between glyphs). */
export function textWidth(text: string, scale: number): number {
  return text.length === 0 ? 0 : (text.length * (GLYPH_WIDTH + 1) - 1) * scale;
}

/**
 * Draws `text` with its top-left corner at (x, y), each font pixel a `scale`×`scale` block. Lower-case
 * letters are drawn as capitals; characters without a glyph as '?'.
 */
export function drawText(img: RgbImage, text: string, x: number, y: number, scale: number, c: Rgb): void {
  let cx = x;
  for (const ch of text.toUpperCase()) {
    const g = GLYPHS[ch] ?? GLYPHS['?']!;
    for (let row = 0; row < GLYPH_HEIGHT; row++) {
      for (let col = 0; col < GLYPH_WIDTH; col++) if (g[row]![col] === '#') fillRect(img, cx + col * scale, y + row * scale, scale, scale, c);
    }
    cx += (GLYPH_WIDTH + 1) * scale;
  }
}

/** Copies `src` into `dst` with its top-left corner at (x, y) (clipped). */
export function paste(dst: RgbImage, src: RgbImage, x: number, y: number): void {
  for (let row = 0; row < src.height; row++) {
    const ty = y + row;
    if (ty < 0 || ty >= dst.height) continue;
    const x0 = Math.max(0, x);
    const x1 = Math.min(dst.width, x + src.width);
    if (x1 <= x0) continue;
    const s = (row * src.width + (x0 - x)) * 3;
    dst.data.set(src.data.subarray(s, s + (x1 - x0) * 3), (ty * dst.width + x0) * 3);
  }
}

export function blankImage(width: number, height: number, c: Rgb = [0, 0, 0]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  if (c[0] || c[1] || c[2]) for (let i = 0; i < data.length; i += 3) data.set(c, i);
  return { width, height, data };
}
