// evaluation.md §1.3: the published table's averages and "% of 76B".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REFERENCE_76B_AVG, tableAverage } from '../../../src/eval/metrics/table.ts';
import { pyRound } from '../../../src/eval/python.ts';

const row = (v: number[]) => Object.fromEntries(['mmmu', 'mathvista', 'ai2d', 'chartqa', 'docvqa', 'infovqa', 'ocrbench', 'mmbench-en', 'mmbench-cn'].map((b, i) => [b, v[i] ?? null]));

test('1B: 545.5/9 = 60.6, 74 % of the 76B model (81.4)', () => {
  const t = tableAverage(row([36.7, 37.7, 64.1, 72.9, 81.7, 50.9, 754, 65.4, 60.7]));
  assert.ok(Math.abs(t.avg! - 545.5 / 9) < 1e-9);
  assert.equal(pyRound(t.avg!, 1), 60.6);
  assert.equal(pyRound(REFERENCE_76B_AVG, 1), 81.4);
  assert.equal(pyRound((pyRound(t.avg!, 1) / pyRound(REFERENCE_76B_AVG, 1)) * 100, 1), 74.4);
  assert.equal(Math.round(t.relative! * 100), 74);
});

test('2B 66.8 (82 %), 4B 72.76 (89.4 %, printed 90 %), 76B 81.4, Claude without InfoVQA 81.7', () => {
  const b2 = tableAverage(row([36.3, 46.3, 74.1, 76.2, 86.9, 58.9, 784, 73.2, 70.9]));
  assert.equal(pyRound(b2.avg!, 1), 66.8);
  assert.equal(pyRound(b2.relative! * 100, 1), 82.1);
  const b4 = tableAverage(row([48.3, 58.6, 78.9, 81.5, 89.2, 67.0, 788, 78.6, 73.9]));
  assert.equal(pyRound(b4.avg!, 2), 72.76);
  assert.equal(pyRound(b4.relative! * 100, 1), 89.4);
  const b76 = tableAverage(row([58.2, 65.5, 87.6, 88.4, 94.1, 82.0, 839, 86.5, 86.3]));
  assert.equal(pyRound(b76.avg!, 1), 81.4);
  const claude = tableAverage({ ...row([65.9, 67.7, 94.7, 90.8, 95.2, 0, 788, 79.7, 80.7]), infovqa: null });
  assert.ok(Math.abs(claude.avg! - 653.5 / 8) < 1e-9);
  assert.equal(pyRound(claude.avg!, 1), 81.7);
});
