// training.md §10: LoRA merge W' = W + (alpha / r) · B · A, the worked examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loraScaling, mergeLoraWeight } from '../../src/model/lora.ts';

test('W = I, r = 1, alpha = 2, A = [[0.5, 0.5]], B = [[1], [0]] → [[2, 1], [0, 1]]', () => {
  const w = new Float32Array([1, 0, 0, 1]);
  const merged = mergeLoraWeight(w, new Float32Array([0.5, 0.5]), new Float32Array([1, 0]), 2, 2, loraScaling({ rank: 1, alpha: 2 }));
  assert.deepEqual([...merged], [2, 1, 0, 1]);
});

test('a fresh adapter (B = 0) merges to W exactly', () => {
  const w = new Float32Array([0.1, -0.7, 3.25, 1e-9, 5, 6]);
  const a = new Float32Array(16 * 3).map((_, i) => Math.sin(i));
  const merged = mergeLoraWeight(w, a, new Float32Array(2 * 16), 2, 3, loraScaling({ rank: 16 }));
  assert.deepEqual([...merged], [...w]);
});

test('r = 16, alpha = 32 → scaling 2 regardless of r', () => {
  assert.equal(loraScaling({ rank: 16, alpha: 32 }), 2);
  assert.equal(loraScaling({ rank: 128, alpha: 256 }), 2);
  assert.equal(loraScaling({ rank: 16 }), 2);
});
