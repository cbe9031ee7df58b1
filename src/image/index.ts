/**
 * Image input pipeline of InternVL2 / Mini-InternVL, pixel-exact with the Python reference (Pillow decode +
 * `convert('RGB')`, `dynamic_preprocess`, Pillow bicubic, ImageNet normalization). This module gathers
 * the whole pipeline for Node, decoder (decode.ts, sharp) and video frames included; the platform-free
 * part (preprocess.ts and below) is what the library core uses.
 *
 * Typical use:
 *   const { pixelValues, numTiles } = await preprocessImage('cat.jpg', { maxNum: 12 });
 *   // pixelValues: Float32Array [numTiles, 3, 448, 448]; numTiles goes into num_patches_list
 */
import { concatPreprocessed, preprocessImage, type PreprocessedBatch, type PreprocessedImage } from './preprocess.ts';
import { getFrameIndices, loadVideoFrame, probeVideo, type VideoSource } from './video.ts';
import { TILE_SIZE } from './types.ts';

export type { RgbImage } from './types.ts';
export { TILE_SIZE } from './types.ts';
export { checkImageFile, loadImage, MAX_IMAGE_PIXELS } from './decode.ts';
export {
  preprocessImage, preprocessImages, concatPreprocessed, decodeImage, type PreprocessedImage, type PreprocessedBatch,
} from './preprocess.ts';
export { chooseGrid, candidateGrids, type Grid } from './grid.ts';
export { resizeBicubic, resizePillow, BICUBIC, BILINEAR, type PillowFilter } from './resample.ts';
export { dynamicPreprocess, cropTile, MAX_TILES, type DynamicPreprocessOptions } from './tiling.ts';
export { toPixelValues, roundToBfloat16, IMAGENET_MEAN, IMAGENET_STD } from './normalize.ts';
export { getFrameIndices, probeVideo, loadVideoFrame, roundHalfEven, type VideoSource } from './video.ts';

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
