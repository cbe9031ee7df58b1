// evaluation.md §10.4: DIOR-RSVG parsing, +1-pixel IoU, acc@0.5 examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groundingCorrect, parseGroundingBox } from '../../../src/eval/metrics/dior-rsvg.ts';
import { scoreItems } from '../../../src/eval/score.ts';

const SIZE: [number, number] = [800, 800];

test('worked examples: IoU 0.980296 ✓, 0.3721 ✗, 0.50187 ✓, no box ✗ → 0.5', async () => {
  const a = groundingCorrect('<ref>the ship</ref><box>[[125,125,250,250]]</box>', [100, 100, 199, 199], SIZE);
  assert.deepEqual(parseGroundingBox('<box>[[125,125,250,250]]</box>', 800, 800), [100, 100, 200, 200]);
  assert.ok(a.correct && Math.abs(a.iou! - 0.980296) < 1e-6);
  const b = groundingCorrect('[[125, 125, 200, 200]]', [100, 100, 199, 199], SIZE);
  assert.ok(!b.correct && Math.abs(b.iou! - 0.3721) < 1e-4);
  const c = groundingCorrect('<box>[[0,0,250,500]]</box>', [0, 0, 399, 399], SIZE);
  assert.ok(c.correct && Math.abs(c.iou! - 0.50187) < 1e-5);
  assert.equal(groundingCorrect('no box here', [100, 100, 199, 199], SIZE).correct, false);
  const r = await scoreItems('dior-rsvg', undefined, [
    { id: 1, prediction: '<ref>the ship</ref><box>[[125,125,250,250]]</box>', bbox: [100, 100, 199, 199], size: SIZE },
    { id: 2, prediction: '[[125, 125, 200, 200]]', bbox: [100, 100, 199, 199], size: SIZE },
    { id: 3, prediction: '<box>[[0,0,250,500]]</box>', bbox: [0, 0, 399, 399], size: SIZE },
    { id: 4, prediction: 'no box here', bbox: [100, 100, 199, 199], size: SIZE },
  ]);
  assert.equal(r.score, 50);
});

test('single brackets miss; only the first of two boxes is scored; boxes clamp to the image', () => {
  assert.equal(groundingCorrect('The box is [125, 125, 250, 250].', [100, 100, 199, 199], SIZE).correct, false);
  assert.equal(groundingCorrect('[[125,125,250,250]] and [[0,0,10,10]]', [100, 100, 199, 199], SIZE).correct, true);
  assert.deepEqual(parseGroundingBox('[[-10,0,1200,500]]', 800, 400), [0, 0, 800, 200]);
});

test('quirk §11.10: fixed rule is IoU ≥ 0.5 without the +1 areas', () => {
  // [0,0,200,400] vs [0,0,399,399]: +1 IoU 0.50187 (> 0.5); plain IoU 79800/159401 = 0.50062 (≥ 0.5)
  const c = groundingCorrect('<box>[[0,0,250,500]]</box>', [0, 0, 399, 399], SIZE, true);
  assert.ok(c.correct && Math.abs(c.iou! - 79800 / 159401) < 1e-12);
});
