/** `dynamic_preprocess`: stretch the image to the chosen grid, cut 448x448 tiles, append a thumbnail. */
import { fail } from '../errors.ts';
import { chooseGrid, type Grid } from './grid.ts';
import { resizeBicubic } from './resample.ts';
import { TILE_SIZE, type RgbImage } from './types.ts';

export interface DynamicPreprocessOptions {
  /** Smallest tile count considered (reference default 1). */
  minNum?: number;
  /** Largest tile count (12 for the model cards, 6 for most eval scripts, 1 for video frames). */
  maxNum: number;
  /** Tile side, 448 for every Mini-InternVL checkpoint. */
  imageSize?: number;
  /** Append a whole-image thumbnail when the grid has more than one tile (config `use_thumbnail`, true). */
  useThumbnail?: boolean;
}

/** Upper bound on max_num: the grid search is quadratic and 100 tiles are already 25,600 image tokens. */
export const MAX_TILES = 100;

/** Copies the square `size`x`size` block at (x0, y0) out of `img`. */
export function cropTile(img: RgbImage, x0: number, y0: number, size: number): RgbImage {
  const out = new Uint8Array(size * size * 3);
  const rowBytes = size * 3;
  for (let y = 0; y < size; y++) {
    const s = ((y0 + y) * img.width + x0) * 3;
    out.set(img.data.subarray(s, s + rowBytes), y * rowBytes);
  }
  return { width: size, height: size, data: out };
}

/** Validates the tiling options with one-line errors. */
export function checkTilingOptions(opts: DynamicPreprocessOptions): { minNum: number; maxNum: number; imageSize: number; useThumbnail: boolean } {
  const minNum = opts.minNum ?? 1;
  const { maxNum } = opts;
  const imageSize = opts.imageSize ?? TILE_SIZE;
  if (!Number.isInteger(maxNum) || maxNum < 1 || maxNum > MAX_TILES) fail(`max_num must be an integer from 1 to ${MAX_TILES}, got ${maxNum}`);
  if (!Number.isInteger(minNum) || minNum < 1 || minNum > maxNum) fail(`min_num must be an integer from 1 to max_num (${maxNum}), got ${minNum}`);
  if (!Number.isInteger(imageSize) || imageSize < 1 || imageSize > 4096) fail(`image_size must be an integer from 1 to 4096, got ${imageSize}`);
  return { minNum, maxNum, imageSize, useThumbnail: opts.useThumbnail ?? true };
}

/**
 * Tiles one RGB image exactly like the reference: grid by `find_closest_aspect_ratio`, Pillow bicubic resize
 * to (448*cols, 448*rows), raster-order crops, then (if more than one tile) a 448x448 thumbnail of the
 * original image last.
 */
export function dynamicPreprocess(img: RgbImage, opts: DynamicPreprocessOptions): { grid: Grid; tiles: RgbImage[] } {
  const { minNum, maxNum, imageSize, useThumbnail } = checkTilingOptions(opts);
  if (!(img.width > 0 && img.height > 0)) fail(`cannot tile an empty image (${img.width}x${img.height})`);
  const grid = chooseGrid(img.width, img.height, minNum, maxNum, imageSize);
  const [cols, rows] = grid;
  const resized = resizeBicubic(img, imageSize * cols, imageSize * rows);
  const tiles: RgbImage[] = [];
  if (cols === 1 && rows === 1) {
    tiles.push(resized);
  } else {
    for (let b = 0; b < cols * rows; b++) {
      tiles.push(cropTile(resized, imageSize * (b % cols), imageSize * Math.floor(b / cols), imageSize));
    }
  }
  if (useThumbnail && cols * rows !== 1) tiles.push(resizeBicubic(img, imageSize, imageSize));
  return { grid, tiles };
}
