// evaluation.md §10.1: DriveLM post-processing, match F1, graph gating, language and final score examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drivelmFinal, drivelmInGraph, drivelmLanguage, drivelmMatch, drivelmPostprocess } from '../../../src/eval/metrics/drivelm.ts';

test('post-processing examples (0–1000 stitched → camera pixels)', () => {
  assert.equal(drivelmPostprocess('<c1,CAM_FRONT,[500,250]>'), '<c1,CAM_FRONT,800.0,450.0>');
  assert.equal(drivelmPostprocess('<c3,CAM_BACK_LEFT,[100.5,900]>'), '<c3,CAM_BACK_LEFT,482.4,720.0>');
  assert.equal(drivelmPostprocess('<c2,CAM_FRONT_RIGHT,[990,10]>'), '<c2,CAM_FRONT_RIGHT,1552.0,18.0>');
  assert.equal(drivelmPostprocess('<c1,CAM_FRONT,[0,0]>'), '<c1,CAM_FRONT,0,0>');
  assert.equal(drivelmPostprocess('<c4,CAM_X,[1,2]>'), '<c4,CAM_X,[1,2]>');
  // as the reference: stripped; each occurrence replaced; " CAM_FRONT" (with its space) is no camera; JSON-invalid stays
  assert.equal(drivelmPostprocess(' <c1,CAM_FRONT,[ 500 , 250 ]> then <c1,CAM_FRONT,[ 500 , 250 ]> '), '<c1,CAM_FRONT,800.0,450.0> then <c1,CAM_FRONT,800.0,450.0>');
  assert.equal(drivelmPostprocess('<c1, CAM_FRONT, [500,250]>'), '<c1, CAM_FRONT, [500,250]>');
  assert.equal(drivelmPostprocess('<c1,CAM_FRONT,[.5,250]>'), '<c1,CAM_FRONT,[.5,250]>');
});

test('quirk §11.6: clamped bounds print as integers; fixed, as floats', () => {
  assert.equal(drivelmPostprocess('<c1,CAM_FRONT,[0,0]>', { floats: true }), '<c1,CAM_FRONT,0.0,0.0>');
  assert.equal(drivelmPostprocess('<c1,CAM_FRONT_RIGHT,[1000,1000]>'), '<c1,CAM_FRONT_RIGHT,1600,900>');
});

test('match F1 examples', () => {
  const gt = '<c1,CAM_FRONT,805.2,449.1>';
  const close = (a: number, b: number) => Math.abs(a - b) < 1e-6;
  assert.ok(close(drivelmMatch('<c1,CAM_FRONT,800.0,450.0>', gt).f1, 0.99999999)); // L1 6.1
  assert.ok(close(drivelmMatch('<c1,CAM_FRONT,820.0,450.0>', gt).f1, 0.99999999)); // L1 15.7 < 16
  assert.ok(close(drivelmMatch('<c1,CAM_FRONT,800.0,450.0> and <c2,CAM_BACK,100.0,200.0>', gt).f1, 0.666667)); // P 0.5, R 1
  assert.equal(drivelmMatch('<c1,CAM_FRONT,0,450.0>', gt).f1, 0); // one float only → dropped
  assert.ok(drivelmMatch('<c1,CAM_FRONT,0,450.0>', '<c1,CAM_FRONT,0,450.0>', true).f1 > 0.99); // fixed: integers count
});

test('graph gating: a later question counts only if its points were matched by the first answer', () => {
  const { matched } = drivelmMatch('<c1,CAM_FRONT,800.0,450.0>', '<c1,CAM_FRONT,805.2,449.1> <c2,CAM_BACK,100.0,200.0>');
  assert.deepEqual(matched, [[805.2, 449.1]]);
  assert.equal(drivelmInGraph('What is <c1,CAM_FRONT,805.2,449.1> doing?', matched), true);
  assert.equal(drivelmInGraph('What is <c2,CAM_BACK,100.0,200.0> doing?', matched), false);
  assert.equal(drivelmInGraph('What should the ego car do?', matched), true);
});

test('final score example: 0.3240235 (the DriveLM README baseline)', () => {
  const language = drivelmLanguage({ bleu: [0.0495223, 0.00021977, 3.6313e-5, 1.4776e-5], rougeL: 0.0838357, cider: 0.0990149 });
  assert.ok(Math.abs(language - 0.0353952) < 5e-8);
  const final = drivelmFinal({ chatgpt: 65.1111, language, match: 28.25, accuracy: 0 });
  assert.ok(Math.abs(final - 0.3240234750718823) < 1e-6);
});

test('consistency with paper Table 4 (DA-2B): 0.5959', () => {
  const L = drivelmLanguage({ bleu: [0.7616, 0.7012, 0.6452, 0.5908], rougeL: 0.7447, cider: 0.1914 });
  assert.ok(Math.abs(L - 0.4795) < 5e-5);
  assert.equal(Math.round(drivelmFinal({ chatgpt: 65.23, language: L, match: 43.24, accuracy: 0.7628 }) * 1e4) / 1e4, 0.5959);
});
