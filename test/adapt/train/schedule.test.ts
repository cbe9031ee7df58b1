// training.md §8: warmup + cosine worked values (lr_max 1e-5) and the warmup ceil cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learningRate, warmupSteps } from '../../../src/adapt/train/schedule.ts';

const close = (a: number, b: number, rel = 1e-6) => assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${a} vs ${b}`);

test('warmup steps = ⌈0.03 · total⌉ in double precision', () => {
  assert.equal(warmupSteps(2200, 0.03), 66);
  assert.equal(warmupSteps(240, 0.03), 8); // 240 · 0.03 = 7.199999… → 8
  assert.equal(warmupSteps(2500, 0.03), 75);
  assert.equal(warmupSteps(15100, 0.03), 453);
});

test('medical schedule (total 2200): the worked values', () => {
  const s = { lr: 1e-5, totalSteps: 2200, warmupSteps: warmupSteps(2200, 0.03) };
  assert.equal(learningRate(0, s), 0); // the first update uses lr 0
  close(learningRate(1, s), 1.515152e-7);
  close(learningRate(33, s), 5e-6);
  close(learningRate(66, s), 1e-5);
  close(learningRate(1133, s), 5e-6);
  close(learningRate(2199, s), 5.418e-12, 1e-3);
});

test('BDD schedule (total 240, warmup 8): the worked values', () => {
  const s = { lr: 1e-5, totalSteps: 240, warmupSteps: warmupSteps(240, 0.03) };
  close(learningRate(4, s), 5e-6);
  close(learningRate(124, s), 5e-6);
});
