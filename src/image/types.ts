/** An 8-bit RGB image, pixels interleaved row-major: `data[(y * width + x) * 3 + c]`, c = R, G, B. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Side of one square tile (and of the thumbnail) for every Mini-InternVL checkpoint. */
export const TILE_SIZE = 448;
