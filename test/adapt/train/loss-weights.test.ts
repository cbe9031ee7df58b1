// training.md §7.2: the packed loss weighting worked examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allGatherLosses, packLossWeights, sampleWeight, weightedLoss } from '../../../src/adapt/train/loss-weights.ts';

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

/** One pack: sample A (n = 40 supervised, CE 2.0 each) then B (n = 10, CE 1.0), 5 unsupervised tokens each. */
function pack() {
  const labels = [...Array(5).fill(-100), ...Array(40).fill(7), ...Array(5).fill(-100), ...Array(10).fill(7)];
  const ce = labels.map((l, t) => (l === -100 ? 0 : t < 45 ? 2.0 : 1.0));
  return { labels, ce, cu: [0, 45, 60] };
}

for (const [mode, expected] of [['square', 5 / 3], ['token', 1.8], ['sample', 1.5]] as const) {
  test(`${mode} weighting of a two-sample pack gives ${expected}`, () => {
    const { labels, ce, cu } = pack();
    const w = packLossWeights(labels, cu, mode);
    close(weightedLoss(ce, w), expected);
  });
}

test('square: w = 1/√n per token of the sample, 0 on ignored positions and for n = 0', () => {
  const w = packLossWeights([-100, 5, 5, 5, 5, -100, -100], [0, 5, 7], 'square');
  assert.deepEqual([...w], [0, 0.5, 0.5, 0.5, 0.5, 0, 0]);
  assert.equal(sampleWeight(0, 'square'), 0);
  // A fully masked sample does not change D.
  const { labels, ce, cu } = pack();
  const withEmpty = packLossWeights([...labels, -100, -100], [...cu, 62], 'square');
  close(weightedLoss([...ce, 0, 0], withEmpty), 5 / 3);
});

test('all-gather: per-rank losses over the mean D average to the global ratio', () => {
  const [l0, l1] = allGatherLosses([15.811388, 4.0], [9.486833, 5.0]);
  close(l0!, 2.182863);
  close(l1!, 0.552226);
  close((l0! + l1!) / 2, 1.367544);
  close((l0! + l1!) / 2, (15.811388 + 4.0) / (9.486833 + 5.0));
});
