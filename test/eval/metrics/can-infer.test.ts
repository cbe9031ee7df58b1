// evaluation.md §2.3: the can_infer table (choices A apple, B banana, C cherry, D date) and its quirk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canInfer } from '../../../src/eval/metrics/can-infer.ts';

const CH = { A: 'apple', B: 'banana', C: 'cherry', D: 'date' };
const ROWS: [string, string | false][] = [
  ['B', 'B'],
  ['The answer is B.', 'B'],
  ['(C) cherry', 'C'],
  ['A. apple', 'A'],
  ['B: banana', 'B'],
  ['I think A or B', false],
  ['banana', 'B'],
  ['Banana split', 'B'],
  ['apple and banana', false],
  ['A dog is shown', 'A'],
  ['Z', 'Z'],
  ['Cannot determine the answer', 'Z'],
  ['', false],
];

test('can_infer worked examples', () => {
  for (const [answer, want] of ROWS) assert.equal(canInfer(answer, CH), want, JSON.stringify(answer));
});

test('quirk §11.4: the article "A" counts as a letter; fixed, it does not in longer answers', () => {
  assert.equal(canInfer('A dog is shown', CH), 'A');
  assert.equal(canInfer('A dog is shown', CH, { articleA: true }), false);
  assert.equal(canInfer('A', CH, { articleA: true }), 'A');
  assert.equal(canInfer('A. apple', CH, { articleA: true }), 'A');
});

test('a judge failure text skips the letter pass but not the text match', () => {
  assert.equal(canInfer('Failed to obtain answer via API. B', CH), false);
  assert.equal(canInfer('Failed to obtain answer via API. banana', CH), 'B');
});

test('MMMU open question after conversion: 1.06 → A hit, "The answer is 1.06 m" → A, "2" → false', () => {
  const ch = { A: '1.06', B: 'Other Answers' };
  assert.equal(canInfer('1.06', ch), 'A');
  assert.equal(canInfer('The answer is 1.06 m', ch), 'A');
  assert.equal(canInfer('2', ch), false);
});
