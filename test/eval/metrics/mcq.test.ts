// evaluation.md §8: MMBench post_process examples and CircularEval group outcomes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { circularGroup, postProcess, seededRandom, type CircularRow } from '../../../src/eval/metrics/mcq.ts';
import type { Judge } from '../../../src/eval/judge.ts';

const CH = { A: 'apple', B: 'banana', C: 'cherry' };

test('InternVL post_process examples (§8.1)', () => {
  const rows: [string, string][] = [
    ['B', 'B'],
    [' C ', 'C'],
    ['B. banana', 'B'],
    ['The answer is banana', 'B'],
    ['I like cherry pie', 'C'],
    ['apple or banana', 'A'],
    ['D', 'D'],
    ['b', 'b'],
  ];
  for (const [p, want] of rows) assert.equal(postProcess(p, CH), want, p);
});

test('quirk §11.5: a single lower-case letter is kept; fixed, it is upper-cased', () => {
  assert.equal(postProcess('b', CH), 'b');
  assert.equal(postProcess('b', CH, { upperCase: true }), 'B');
  assert.equal(postProcess('z', CH, { upperCase: true }), 'z');
});

// A 4-option question in 4 circular copies; the GT letter moves with the shift: B, A, D, C.
const TEXTS = ['red', 'green', 'blue', 'pink'];
function copies(preds: string[]): CircularRow[] {
  const gts = ['B', 'A', 'D', 'C'];
  return preds.map((prediction, k) => {
    const choices = Object.fromEntries(['A', 'B', 'C', 'D'].map((l, i) => [l, TEXTS[(i + k) % 4]!]));
    return { question: 'Which colour?', choices, prediction, gt: gts[k]! };
  });
}
const ctx = (judge?: Judge) => ({ judge, random: seededRandom(0), canInfer: {} });
const fixedJudge = (reply: string): Judge & { calls: number } => {
  const j = { calls: 0, async ask() { j.calls++; return reply; } };
  return j;
};

test('CircularEval examples (§8.2)', async () => {
  assert.equal((await circularGroup(copies(['B', 'A', 'D', 'C']), ctx())).hit, true);
  assert.equal((await circularGroup(copies(['B', 'A', 'D', 'B']), ctx())).hit, false);
  // "I am not sure": exact matching only → the whole group scores 0
  const unsure = copies(['B', 'A', 'I am not sure', 'C']);
  const exact = await circularGroup(unsure, ctx());
  assert.deepEqual([exact.hit, exact.via], [false, 'none']);
  // with a judge, it decides copy 3 (only that copy is asked)
  const right = fixedJudge('D');
  assert.equal((await circularGroup(unsure, ctx(right))).hit, true);
  assert.equal(right.calls, 1);
  const wrong = fixedJudge('A');
  assert.equal((await circularGroup(unsure, ctx(wrong))).hit, false);
  // a wrong prefetched copy fails the group before any judge call
  const never = fixedJudge('D');
  assert.equal((await circularGroup(copies(['C', 'A', 'I am not sure', 'C']), ctx(never))).hit, false);
  assert.equal(never.calls, 0);
});

test('A 2-option question has 2 copies', async () => {
  const rows: CircularRow[] = [
    { question: 'q', choices: { A: 'yes', B: 'no' }, prediction: 'A', gt: 'A' },
    { question: 'q', choices: { A: 'no', B: 'yes' }, prediction: 'B', gt: 'B' },
  ];
  assert.equal((await circularGroup(rows, ctx())).hit, true);
});
