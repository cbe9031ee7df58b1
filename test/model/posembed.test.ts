import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resizePositionEmbedding } from '../../src/model/posembed.ts';

test('position-embedding resize is the identity on the same grid and keeps the class row', () => {
  const g = 4, C = 3;
  const pos = Float32Array.from({ length: (1 + g * g) * C }, (_, i) => Math.sin(i));
  assert.deepEqual(Array.from(resizePositionEmbedding(pos, g, g, C)), Array.from(pos));
  const up = resizePositionEmbedding(pos, g, 6, C);
  assert.deepEqual(Array.from(up.subarray(0, C)), Array.from(pos.subarray(0, C)));
});

test('bicubic resize follows the PyTorch kernel (A = −0.75, half-pixel centres, clamped taps)', () => {
  // Derived by hand from the spec's formulas (architecture.md §3.2): upsampling [0, 1] to 4 samples
  // gives src = −0.25, 0.25, 0.75, 1.25 with weights c2(1.75) = −0.03515625, c1(0.75) = 0.26171875,
  // c1(0.25) = 0.87890625, c2(1.25) = −0.10546875 on clamped taps →
  // r = [−0.10546875, 0.2265625, 0.7734375, 1.10546875]. The grid [[0, 1], [2, 3]] is x + 2y and the
  // weights sum to 1, so the 4×4 result is r[x] + 2·r[y].
  const r = [-0.10546875, 0.2265625, 0.7734375, 1.10546875];
  const pos = Float32Array.from([9, 0, 1, 2, 3]);
  const out = resizePositionEmbedding(pos, 2, 4, 1);
  assert.equal(out[0], 9);
  for (let y = 0; y < 4; y++) {
    for (let x = 0; x < 4; x++) assert.equal(out[1 + y * 4 + x], r[x]! + 2 * r[y]!, `(${y}, ${x})`);
  }
});
