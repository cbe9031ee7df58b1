/**
 * Image input pipeline of InternVL2 / Mini-InternVL, pixel-exact with the Python reference (Pillow decode +
 * `convert('RGB')`, `dynamic_preprocess`, Pillow bicubic, ImageNet normalization). See
 * ../shared/spec/preprocessing.md.
 *
 * Typical use:
 *   const { pixelValues, numTiles } = await preprocessImage('cat.jpg', { maxNum: 12 });
 *   // pixelValues: Float32Array [numTiles, 3, 448, 448]; numTiles goes into num_patches_list
 */
import { concatFloat32 } from '../io/dtype.ts';
import { loadImage } from './decode.ts';
import type { Grid } from './grid.ts';
import { toPixelValues } from './normalize.ts';
import { dynamicPreprocess, type DynamicPreprocessOptions } from './tiling.ts';
import { getFrameIndices, loadVideoFrame, probeVideo, type VideoSource } from './video.ts';
import { TILE_SIZE, type RgbImage } from './types.ts';

export type { RgbImage } from './types.ts';
export { TILE_SIZE } from './types.ts';
export { checkImageFile, loadImage, MAX_IMAGE_PIXELS } from './decode.ts';
export { chooseGrid, candidateGrids, type Grid } from './grid.ts';
export { resizeBicubic } from './resample.ts';
export { dynamicPreprocess, cropTile, MAX_TILES, type DynamicPreprocessOptions } from './tiling.ts';
export { toPixelValues, roundToBfloat16, IMAGENET_MEAN, IMAGENET_STD } from './normalize.ts';
export { getFrameIndices, probeVideo, loadVideoFrame, roundHalfEven, type VideoSource } from './video.ts';

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
  const img = isRgbImage(pathOrBuffer) ? pathOrBuffer : await loadImage(pathOrBuffer);
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

/** Options of `preprocessVideo` (model card `load_video`). */
export interface VideoOptions {
  /** Frames to sample (model card default 32; cards call it with 8; MVBench 16). */
  numSegments?: number;
  /** [start, end] in seconds, or null for the whole clip. */
  bound?: [number, number] | null;
  /** Tiles per frame (1 in the reference: one stretched 448x448 tile per frame). */
  maxNum?: number;
  /** Frame rate for a list of frames (animated images use their own delays). */
  fps?: number;
}

/** Samples frames like `load_video` and preprocesses each; `numPatchesList` has one entry per frame. */
export async function preprocessVideo(src: VideoSource, opts: VideoOptions = {}): Promise<PreprocessedBatch & { frameIndices: number[] }> {
  const { numFrames, fps } = await probeVideo(src, opts.fps);
  const frameIndices = getFrameIndices({ numFrames, fps, numSegments: opts.numSegments ?? 32, bound: opts.bound ?? null });
  const parts: PreprocessedImage[] = [];
  for (const idx of frameIndices) {
    const frame = await loadVideoFrame(src, Math.min(Math.max(idx, 0), numFrames - 1));
    parts.push(await preprocessImage(frame, { maxNum: opts.maxNum ?? 1, imageSize: TILE_SIZE, useThumbnail: true }));
  }
  return { ...concatPreprocessed(parts), frameIndices };
}
