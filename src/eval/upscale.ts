/**
 * VLMEvalKit's MMMU upscale: `image.resize((w * 2, h * 2), Image.BILINEAR)` before tiling — Pillow's
 * resampler with the triangle filter, the same fixed-point passes tiling uses (src/image/resample.ts).
 */
import { BILINEAR, resizePillow, type RgbImage } from '../image/index.ts';

/** `img.resize((width * factor, height * factor), Image.BILINEAR)`, bit-exact with Pillow. */
export function upscaleBilinear(img: RgbImage, factor = 2): RgbImage {
  return resizePillow(img, img.width * factor, img.height * factor, BILINEAR);
}
