// evaluation.md §7: OCRBench worked examples and the aggregate example (scored through scoreItems).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ocrbenchCorrect } from '../../../src/eval/metrics/ocrbench.ts';
import { scoreItems } from '../../../src/eval/score.ts';

const HMER = 'Handwritten Mathematical Expression Recognition';

test('OCRBench item examples', () => {
  assert.equal(ocrbenchCorrect(['stop'], 'The text says "STOP".', 'Regular Text Recognition'), true);
  assert.equal(ocrbenchCorrect(['central park'], 'CENTRAL\nPARK', 'Scene Text-centric VQA'), true);
  assert.equal(ocrbenchCorrect(['120'], '12', 'Digit String Recognition'), false);
  assert.equal(ocrbenchCorrect(['x^{2}+1'], 'x ^ { 2 } + 1', HMER), true);
  assert.equal(ocrbenchCorrect(['X^{2}+1'], 'x^{2}+1', HMER), false);
  assert.equal(ocrbenchCorrect(['5.00', '$5'], 'Total: $5.00', 'Key Information Extraction'), true);
  assert.equal(ocrbenchCorrect(['stop'], 'top', 'Regular Text Recognition'), false);
});

test('OCRBench aggregate: 45+40+38+30+25+35 recognition, 170, 160, 150, 20 → Final Score 713', async () => {
  const plan: [string, number, number][] = [
    ['Regular Text Recognition', 45, 50],
    ['Irregular Text Recognition', 40, 50],
    ['Artistic Text Recognition', 38, 50],
    ['Handwriting Recognition', 30, 50],
    ['Digit String Recognition', 25, 50],
    ['Non-Semantic Text Recognition', 35, 50],
    ['Scene Text-centric VQA', 170, 200],
    ['Doc-oriented VQA', 160, 200],
    ['Key Information Extraction', 150, 200],
    [HMER, 20, 100],
  ];
  const items = plan.flatMap(([category, hits, total]) =>
    Array.from({ length: total }, (_, i) => ({ id: `${category}-${i}`, category, answer: "['ok']", prediction: i < hits ? 'ok' : 'no' })),
  );
  const r = await scoreItems('ocrbench', undefined, items);
  assert.equal(r.protocol, 'vlmevalkit');
  assert.equal(r.n, 1000);
  assert.equal(r.score, 713);
  assert.equal(r.breakdown['Text Recognition'], 213);
  assert.equal(r.breakdown['Scene Text-centric VQA'], 170);
  assert.equal(r.breakdown['Doc-oriented VQA'], 160);
  assert.equal(r.breakdown['Key Information Extraction'], 150);
  assert.equal(r.breakdown[HMER], 20);
  assert.equal(r.score! / 10, 71.3);
});
