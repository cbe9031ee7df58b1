// evaluation.md §10.6: ROUGE-L and control-signal examples (from the stated formulas).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controlErrors, rougeL } from '../../../src/eval/metrics/bddx.ts';

const close = (a: number, b: number, eps = 1e-6) => assert.ok(Math.abs(a - b) < eps, `${a} vs ${b}`);

test('ROUGE-L examples', () => {
  close(rougeL('the car turns left', ['the car is turning left']), 0.653571);
  assert.equal(rougeL('the car turns left', ['the car turns left']), 1);
  assert.equal(rougeL('stop', ['the car stops']), 0);
  close(rougeL('the ego car slows down', ['the car slows down', 'the ego vehicle brakes']), 0.907063);
});

test('RMSE and A_tau example', () => {
  const r = controlErrors([1.0, 2.0, 3.5], [1.05, 2.6, 3.5]);
  close(r.rmse, 0.347611);
  close(r.acc['0.1']!, 66.6667, 1e-4);
  close(r.acc['0.5']!, 66.6667, 1e-4);
  assert.equal(r.acc['1']!, 100);
  assert.equal(r.acc['5']!, 100);
});
