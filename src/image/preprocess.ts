/**
 * Decode (through the platform: sharp on Node) + tile + normalize, for one image or several. Imports
 * no decoder itself, so the library core stays free of Node modules.
 */
import { host } from '../host/platform.ts';
import { concatFloat32 } from '../io/dtype.ts';
import type { Grid } from './grid.ts';
import { toPixelValues } from './normalize.ts';
import { dynamicPreprocess, type DynamicPreprocessOptions } from './tiling.ts';
import type { RgbImage } from './types.ts';

/** A file path or encoded bytes (JPEG, PNG, WebP, GIF first frame, ...) → RGB, by the platform's decoder. */
export function decodeImage(pathOrBuffer: string | Uint8Array): Promise<RgbImage> {
  return host.decodeImage(pathOrBuffer);
}

/** Result of preprocessing one image (or one video frame). */
export interface PreprocessedImage {
  /** `[numTiles, 3, 448, 448]` float32, CHW, ImageNet-normalized; thumbnail last. */
  pixelValues: Float32Array;
  numTiles: number;
  /** `[cols, rows]` of the chosen tile grid. */
  grid: Grid;
  /** Decoded size of the original image (needed to map grounding boxes back to pixels). */
  width: number;
  height: number;
}

/** Decode + tile + normalize one image. `opts.maxNum` as in `load_image(file, max_num)`. */
export async function preprocessImage(pathOrBuffer: string | Uint8Array | RgbImage, opts: DynamicPreprocessOptions): Promise<PreprocessedImage> {
  const img = isRgbImage(pathOrBuffer) ? pathOrBuffer : await decodeImage(pathOrBuffer);
  const { grid, tiles } = dynamicPreprocess(img, opts);
  return { pixelValues: toPixelValues(tiles), numTiles: tiles.length, grid, width: img.width, height: img.height };
}

function isRgbImage(x: unknown): x is RgbImage {
  return typeof x === 'object' && x !== null && !(x instanceof Uint8Array) && 'data' in x && 'width' in x;
}

/** Several images for one prompt: pixel values concatenated in order, and `numPatchesList` for the prompt. */
export interface PreprocessedBatch {
  pixelValues: Float32Array;
  numPatchesList: number[];
  images: Array<Omit<PreprocessedImage, 'pixelValues'>>;
}

/** Each image is tiled independently (its own max_num) and the tensors are concatenated (spec §7.1). */
export async function preprocessImages(sources: Array<string | Uint8Array | RgbImage>, opts: DynamicPreprocessOptions): Promise<PreprocessedBatch> {
  const parts: PreprocessedImage[] = [];
  for (const s of sources) parts.push(await preprocessImage(s, opts));
  return concatPreprocessed(parts);
}

/** Concatenates per-image results along the tile axis. */
export function concatPreprocessed(parts: PreprocessedImage[]): PreprocessedBatch {
  return {
    pixelValues: concatFloat32(parts.map((p) => p.pixelValues)),
    numPatchesList: parts.map((p) => p.numTiles),
    images: parts.map(({ pixelValues: _pv, ...rest }) => rest),
  };
}

