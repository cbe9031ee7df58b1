// training.md §8: AdamW (β₁ 0.9, β₂ 0.999, ε 1e-8, decoupled weight decay) and global-norm clipping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW, clipGradNorm, globalNorm } from '../../../src/adapt/train/optimizer.ts';

test('AdamW: two steps against the hand-computed update (bias correction, decoupled decay)', () => {
  const opt = new AdamW({ weightDecay: 0.01 });
  const p = new Map([['w', new Float32Array([1])]]);
  opt.step(p, new Map([['w', new Float32Array([0.5])]]), 0.1);
  // m̂ = 0.5, v̂ = 0.25: p = 1 − 0.1·(0.5/(0.5 + 1e-8) + 0.01·1)
  assert.equal(p.get('w')![0], Math.fround(0.899000002));
  opt.step(p, new Map([['w', new Float32Array([-0.25])]]), 0.1);
  assert.ok(Math.abs(p.get('w')![0]! - 0.8714672987058464) < 1e-7, `${p.get('w')![0]}`);
  assert.equal(opt.state.step, 2);
});

test('AdamW: lr 0 (the first scheduled step) leaves the weights but advances the moments', () => {
  const opt = new AdamW({ weightDecay: 0.01 });
  const p = new Map([['w', new Float32Array([1, -2])]]);
  opt.step(p, new Map([['w', new Float32Array([0.3, 0.7])]]), 0);
  assert.deepEqual([...p.get('w')!], [1, -2]);
  assert.ok(Math.abs(opt.state.m.get('w')![0]! - 0.03) < 1e-8);
});

test('clipping at global norm 1.0 scales by max/(norm + 1e-6); small gradients stay', () => {
  const a = new Float32Array([3]);
  const b = new Float32Array([4]);
  const norm = clipGradNorm([a, b], 1.0);
  assert.equal(norm, 5);
  assert.equal(a[0], Math.fround(3 * (1 / (5 + 1e-6))));
  assert.equal(b[0], Math.fround(4 * (1 / (5 + 1e-6))));
  assert.ok(Math.abs(globalNorm([a, b]) - 1) < 1e-6);
  const c = new Float32Array([0.3, 0.4]);
  assert.equal(clipGradNorm([c], 1.0), Math.hypot(Math.fround(0.3), Math.fround(0.4)));
  assert.deepEqual([...c], [Math.fround(0.3), Math.fround(0.4)]);
});
