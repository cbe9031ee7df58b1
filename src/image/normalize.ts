/** torchvision `ToTensor` + `Normalize(IMAGENET_MEAN, IMAGENET_STD)` on 448x448 RGB tiles, float32 CHW. */
import { fail } from '../errors.ts';
import { bf16ToF32, f32ToBf16 } from '../io/dtype.ts';
import type { RgbImage } from './types.ts';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/**
 * Value for each (channel, byte): every step rounded to float32 as torch does
 * (`u8.float().div(255)`, then `sub_(mean).div_(std)` with float32 mean/std). A 768-entry table.
 */
const LUT: Float32Array = (() => {
  const t = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(IMAGENET_MEAN[c]!);
    const s = Math.fround(IMAGENET_STD[c]!);
    for (let v = 0; v < 256; v++) t[c * 256 + v] = Math.fround(Math.fround(Math.fround(v / 255) - m) / s);
  }
  return t;
})();

/** Normalizes tiles (all the same size) into one `[T, 3, H, W]` float32 array, tiles concatenated in order. */
export function toPixelValues(tiles: RgbImage[]): Float32Array {
  if (tiles.length === 0) return new Float32Array(0);
  const { width, height } = tiles[0]!;
  const plane = width * height;
  const out = new Float32Array(tiles.length * 3 * plane);
  tiles.forEach((t, ti) => {
    if (t.width !== width || t.height !== height) fail(`toPixelValues: tile ${ti} is ${t.width}x${t.height}, expected ${width}x${height}`);
    const d = t.data;
    const o = ti * 3 * plane;
    for (let i = 0, p = 0; i < plane; i++, p += 3) {
      out[o + i] = LUT[d[p]!]!;
      out[o + plane + i] = LUT[256 + d[p + 1]!]!;
      out[o + 2 * plane + i] = LUT[512 + d[p + 2]!]!;
    }
  });
  return out;
}

/**
 * Rounds float32 values to bfloat16 precision (round to nearest, ties to even) and back, in place — what the
 * reference does with `pixel_values.to(torch.bfloat16)` before the vision encoder. Optional: a float32 model
 * may keep full precision (expect bf16-level differences either way).
 */
export function roundToBfloat16(values: Float32Array): Float32Array {
  return bf16ToF32(f32ToBf16(values), values);
}
