// evaluation.md §10.3: RSVQA score.py examples and the 8-item worked example.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rsvqaCorrect, rsvqaSummary } from '../../../src/eval/metrics/rsvqa.ts';
import { scoreItems } from '../../../src/eval/score.ts';

test('count and area buckets', () => {
  const count: [string | null, string, boolean][] = [['57', '12', true], ['0', '0', true], ['150', '999', true], ['1001', '5000', true], ['100', '101', false], ['abc', '5', false], [null, '0', true]];
  for (const [r, g, want] of count) assert.equal(rsvqaCorrect('count', r, g), want, `${r} ${g}`);
  const area: [string, string, boolean][] = [['250', '500m2', true], ['50', '120m2', false], ['0', '0m2', true]];
  for (const [r, g, want] of area) assert.equal(rsvqaCorrect('area', r, g), want, `${r} ${g}`);
});

const EIGHT = [
  ['presence', 'Yes', 'yes'],
  ['presence', 'no', 'yes'],
  ['presence', 'Yes.', 'yes'],
  ['comp', 'No', 'no'],
  ['rural_urban', 'urban', 'rural'],
  ['count', '57', '12'],
  ['count', '0', '3'],
  ['area', '250', '500m2'],
].map(([type, prediction, answer], i) => ({ id: i, type, prediction, answer }));

test('8-item example: per type, total 0.5, useful 0.4', async () => {
  const s = rsvqaSummary(EIGHT.map((e) => ({ type: e.type!, correct: rsvqaCorrect(e.type!, e.prediction!, e.answer!) })));
  assert.deepEqual(Object.fromEntries(Object.entries(s.perType).map(([k, v]) => [k, Math.round(v * 1e4) / 1e4])), { presence: 0.3333, comp: 1, rural_urban: 0, count: 0.5, area: 1 });
  assert.equal(s.total, 0.5);
  assert.equal(s.useful, 0.4);
  const r = await scoreItems('rsvqa-lr', undefined, EIGHT);
  assert.equal(r.score, 40);
  assert.equal(r.breakdown.total_score, 50);
});

test('quirk §11.9: "Yes." ≠ "yes"; fixed, punctuation is stripped', async () => {
  assert.equal(rsvqaCorrect('presence', 'Yes.', 'yes'), false);
  assert.equal(rsvqaCorrect('presence', 'Yes.', 'yes', true), true);
  assert.equal(rsvqaCorrect('presence', '', ''), false); // an empty response is never right
  const r = await scoreItems('rsvqa-lr', undefined, EIGHT, { fixQuirks: ['rsvqa-punctuation'] });
  assert.equal(r.score, 60);
  assert.deepEqual(r.quirks.fixed, ['rsvqa-punctuation']);
});
