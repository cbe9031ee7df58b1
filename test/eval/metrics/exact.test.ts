// evaluation.md §4: AI2D exact match examples and the dataset of four.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exactMatch } from '../../../src/eval/metrics/exact.ts';

test('AI2D exact match: B/B 1, " b "/B 1, "B. cat"/B 0, C/B 0 → 0.5', () => {
  const s = [exactMatch(['B'], 'B'), exactMatch(['B'], ' b '), exactMatch(['B'], 'B. cat'), exactMatch(['B'], 'C')];
  assert.deepEqual(s, [1, 1, 0, 0]);
  assert.equal(s.reduce((a, b) => a + b) / 4, 0.5);
});
