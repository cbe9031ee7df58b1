// evaluation.md §6: every row of the ANLS worked-example table, and the dataset example.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anls, levenshtein, normalizedDistance } from '../../../src/eval/metrics/anls.ts';

const ROWS: [string[], string, number, number, number][] = [
  // G, p, d (best GT), L (best GT), score
  [['Memorandum'], 'memorandum', 0, 10, 1.0],
  [['1984'], '1985', 1, 4, 0.75],
  [['Acme Corp'], 'acme corp.', 1, 10, 0.9],
  [['ITC'], 'ITS', 1, 3, 2 / 3],
  [['ab'], 'ac', 1, 2, 0.5],
  [['hello world'], 'hello  world', 0, 12, 1.0],
  [['$ 2.50', '2.50'], '2.5', 1, 4, 0.75],
  [['June 5, 1999'], 'june 5 1999', 1, 12, 1 - 1 / 12],
  [['abc'], '', 3, 3, 0],
  [['cat'], 'dog', 3, 3, 0],
];

test('ANLS worked examples (reference script)', () => {
  for (const [golds, p, d, L, want] of ROWS) {
    assert.ok(Math.abs(anls(golds, p) - want) < 1e-12, `${golds} / ${p}`);
    const best = golds.at(-1)!;
    assert.equal(Math.round(normalizedDistance(best, p) * L), d, `${best} / ${p}`);
  }
  assert.equal(normalizedDistance('$ 2.50', '2.5'), 3 / 6); // the other GT of the row: d 3, L 6
  assert.equal(levenshtein('abc', ''), 3);
});

test('ANLS dataset example: 1.0, 0.75, 0.5, 0 → 0.5625', () => {
  const scores = [anls(['Memorandum'], 'memorandum'), anls(['1984'], '1985'), anls(['ab'], 'ac'), anls(['cat'], 'dog')];
  assert.equal(scores.reduce((a, b) => a + b) / 4, 0.5625);
});

test('quirk §11.2: exactly 0.5 is kept; the textbook rule zeroes it and measures normalised strings', () => {
  assert.equal(anls(['ab'], 'ac'), 0.5);
  assert.equal(anls(['ab'], 'ac', true), 0);
  // raw length 12 ("hello  world") vs normalised 11: the textbook distance of 'hello world!' differs
  assert.equal(normalizedDistance('hello world', '  hello world! ', false), 1 / 15);
  assert.equal(normalizedDistance('hello world', '  hello world! ', true), 1 / 12);
});
