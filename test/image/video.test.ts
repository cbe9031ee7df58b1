import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { getFrameIndices, roundHalfEven, preprocessVideo, probeVideo, loadVideoFrame, preprocessImages, preprocessImage } from '../../src/image/index.ts';
import { GOLDEN } from '../helpers/paths.ts';

test('roundHalfEven is Python round / np.round', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, -3.5, 2.4999, 3.5000001].map(roundHalfEven), [0, 2, 2, -0, -2, -2, -4, 2, 4]);
});

// [num_frames, fps, num_segments, bound, expected] — expected from the model card's get_index run in Python/NumPy.
const GET_INDEX: [number, number, number, [number, number] | null, number[]][] = [
  [300, 30, 8, null, [18, 55, 93, 130, 168, 205, 242, 280]],
  [300, 30, 32, null, [4, 13, 23, 32, 41, 51, 60, 69, 79, 88, 97, 107, 116, 125, 135, 144, 154, 163, 172, 182, 191, 200, 210, 219, 228, 238, 247, 256, 266, 275, 284, 294]],
  [10, 25, 16, null, [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 6, 7, 7, 8, 8]],
  [5, 10, 8, null, [0, 0, 1, 2, 2, 2, 3, 4]],
  [1, 30, 4, null, [0, 0, 0, 0]],
  [250, 29.97, 16, [1.5, 6.5], [49, 58, 68, 77, 87, 96, 105, 115, 124, 133, 143, 152, 161, 171, 180, 190]],
  [100, 10, 8, [2.5, 3.5], [25, 26, 27, 29, 30, 31, 33, 34]],
  [1000, 24, 32, [0, 41.625], [15, 46, 77, 109, 140, 171, 202, 234, 265, 296, 327, 358, 390, 421, 452, 483, 515, 546, 577, 608, 639, 671, 702, 733, 764, 795, 827, 858, 889, 920, 952, 983]],
  [73, 12.5, 7, null, [5, 15, 26, 36, 46, 56, 67]],
  [2, 1, 3, null, [0, 0, 1]],
  [100, 10, 4, [0.25, 8.45], [12, 32, 53, 74]],
  [100, 10, 4, [0.35, 8.55], [14, 34, 55, 76]],
  [17, 10, 4, null, [2, 6, 10, 14]],
];

test('getFrameIndices reproduces get_index exactly', () => {
  for (const [numFrames, fps, numSegments, bound, want] of GET_INDEX) {
    assert.deepEqual(getFrameIndices({ numFrames, fps, numSegments, bound }), want, `${numFrames} frames @ ${fps} fps, ${numSegments} segments, bound ${bound}`);
  }
  assert.throws(() => getFrameIndices({ numFrames: 0, fps: 30 }), /no frames/);
});

async function frames(n: number): Promise<Buffer[]> {
  return Promise.all(Array.from({ length: n }, (_, k) =>
    sharp({ create: { width: 40, height: 30, channels: 3, background: { r: k * 40, g: 255 - k * 40, b: 7 } } }).png().toBuffer()));
}

test('animated GIF / WebP: frame count, fps from delays, one 448x448 tile per sampled frame', async () => {
  const stills = await frames(6);
  for (const fmt of ['gif', 'webp'] as const) {
    const anim = await sharp(stills, { join: { animated: true } })[fmt]({ delay: [100, 100, 100, 100, 100, 100], ...(fmt === 'webp' ? { lossless: true } : {}) }).toBuffer();
    assert.deepEqual(await probeVideo(anim), { numFrames: 6, fps: 10 }, fmt);
    const f3 = await loadVideoFrame(anim, 3);
    assert.deepEqual([f3.width, f3.height, ...f3.data.subarray(0, 3)], [40, 30, 120, 135, 7], fmt);
    const v = await preprocessVideo(anim, { numSegments: 4 });
    assert.deepEqual(v.frameIndices, [0, 1, 2, 4]);
    assert.deepEqual(v.numPatchesList, [1, 1, 1, 1]);
    assert.equal(v.pixelValues.length, 4 * 3 * 448 * 448);
  }
});

test('a list of still frames works as a video', async () => {
  const v = await preprocessVideo(await frames(5), { numSegments: 3 });
  assert.deepEqual(v.frameIndices, [0, 1, 3]); // get_index(None, fps, 4, 0, 3) in Python
  assert.deepEqual(v.numPatchesList, [1, 1, 1]);
});

test('multi-image: tiles concatenated in order, numPatchesList per image', async () => {
  const a = `${GOLDEN}/images/tiny_100x50.png`;
  const b = `${GOLDEN}/images/square_448.png`;
  const batch = await preprocessImages([a, b], { maxNum: 6 });
  assert.deepEqual(batch.numPatchesList, [3, 1]);
  const pa = await preprocessImage(a, { maxNum: 6 });
  const pb = await preprocessImage(b, { maxNum: 6 });
  assert.equal(batch.pixelValues.length, pa.pixelValues.length + pb.pixelValues.length);
  assert.deepEqual(batch.pixelValues.subarray(pa.pixelValues.length), pb.pixelValues);
  assert.deepEqual(batch.images.map((i) => [i.width, i.height]), [[100, 50], [448, 448]]);
});
