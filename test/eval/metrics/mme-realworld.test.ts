// evaluation.md §10.2: MME-RealWorld extraction examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mmeExtract } from '../../../src/eval/metrics/mme-realworld.ts';
import { scoreItems } from '../../../src/eval/score.ts';

const CH = ['(A) red', '(B) green', '(C) blue', '(D) yellow', '(E) white'];

test('extraction examples', () => {
  const rows: [string, string][] = [
    ['B', 'B'],
    ['The best answer is (C).', 'C'],
    ['green', 'B'],
    ['The answer is E', 'E'],
    ['C. blue', 'C'],
    ['a', 'A'],
    ['There is a car in the image and it is parked near the building on the left side', ''],
  ];
  for (const [r, want] of rows) assert.equal(mmeExtract(r, CH), want, r);
});

test('quirk §11.8: the fused prefix "The best option isThe correct option is" removes neither phrase', () => {
  // reference: nothing is removed, no capital A–E, and the whole sentence is no choice's substring → ""
  assert.equal(mmeExtract('The best option is blue', CH), '');
  // fixed: "The best option is" is removed and " blue" matches "(C) blue"
  assert.equal(mmeExtract('The best option is blue', CH, true), 'C');
  assert.equal(mmeExtract('The correct option is blue', CH, true), 'C');
});

test('accuracy per Task and micro overall', async () => {
  const items = [
    { id: 1, prediction: 'B', choices: CH, answer: 'B', task: 'Perception' },
    { id: 2, prediction: 'C', choices: CH, answer: 'B', task: 'Perception' },
    { id: 3, prediction: 'A', choices: CH, answer: 'A', task: 'Reasoning' },
  ];
  const r = await scoreItems('mme-realworld', undefined, items);
  assert.ok(Math.abs(r.score! - 200 / 3) < 1e-9);
  assert.equal(r.breakdown['task:Perception'], 50);
  assert.equal(r.breakdown['task:Reasoning'], 100);
});
