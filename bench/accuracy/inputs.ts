// The inputs bench/accuracy.ts and bench/accuracy-noise.ts compare models on: one 448 tile of a real photo
// (the golden photo_demo1.jpg) inside a 300-token prompt (InternVL2's <img> … </img> ids around its 256
// image tokens), and a 40-token text-only prompt.
import { preprocessImage } from '../../src/image/index.ts';
import { syntheticIds } from '../../src/runtime/bench.ts';

const IMG_CONTEXT = 151648;
const IMG_START = 151646;
const IMG_END = 151647;

export async function accuracyInputs() {
  const photo = new URL('../../../shared/golden/images/photo_demo1.jpg', import.meta.url).pathname;
  const pre = await preprocessImage(photo, { maxNum: 1, useThumbnail: false });
  return {
    pixelValues: pre.pixelValues, tiles: pre.numTiles, imgContextId: IMG_CONTEXT,
    ids: [...syntheticIds(20, 100, 30000, 3), IMG_START, ...new Array(256 * pre.numTiles).fill(IMG_CONTEXT), IMG_END, ...syntheticIds(24, 100, 30000, 5)],
    textIds: syntheticIds(40, 100, 30000, 11),
  };
}
