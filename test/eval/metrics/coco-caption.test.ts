// DriveLM's language metrics (pycocoevalcap definitions): identities and a hand-computed BLEU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bleu, ciderD, cocoTokenize, rougeLCorpus } from '../../../src/eval/metrics/coco-caption.ts';

test('identical captions: BLEU 1, ROUGE-L 1; CIDEr-D of a unique match', () => {
  const c = ['the car turns left at the light', 'a red bus is parked'];
  const r = c.map((x) => [x]);
  for (const b of bleu(c, r)) assert.ok(Math.abs(b - 1) < 1e-9);
  assert.equal(rougeLCorpus(c, r), 1);
  // every n-gram occurs in one of the 2 items' references: idf = log 2, cosine 1 per n, no length penalty → 10
  assert.ok(Math.abs(ciderD(c, r) - 10) < 1e-9);
});

test('BLEU by hand: "the cat" vs "the cat sat" (brevity penalty; empty 3/4-gram counts give tiny/small = 1e-6)', () => {
  const [b1, b2, b3, b4] = bleu(['the cat'], [['the cat sat']]);
  const bp = Math.exp(1 - 3 / 2);
  assert.ok(Math.abs(b1 - bp) < 1e-9);
  assert.ok(Math.abs(b2 - bp) < 1e-9);
  assert.ok(Math.abs(b3 - 0.01 * bp) < 1e-9); // (1 · 1 · 1e-6)^(1/3)
  assert.ok(Math.abs(b4 - 0.001 * bp) < 1e-9); // (1e-12)^(1/4)
});

test('tokenisation drops punctuation and lower-cases', () => {
  assert.equal(cocoTokenize('Notice <c1,CAM_FRONT,800.0,450.0>. Then, STOP!'), 'notice <c1 cam_front 800.0 450.0> then stop');
});
