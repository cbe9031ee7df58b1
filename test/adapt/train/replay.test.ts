// The --replay forgetting guard: which slots of the stream are replay samples is a pure function of
// (seed, slot) with the asked-for share; the mixed stream reads the two data sets in their own orders,
// and a stream reopened at a saved state continues exactly as the uninterrupted one. (The end-to-end
// SIGKILL/resume of a packed run with --replay is in packing.test.ts.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_REPLAY_RATIO, isReplaySlot, MixedStream } from '../../../src/adapt/train/replay.ts';
import { TrainData } from '../../../src/adapt/train/data.ts';
import { finetune } from '../../../src/adapt/train/trainer.ts';
import { loadTokenizer, type Tokenizer } from '../../../src/tokenizer/index.ts';
import { readFileSync } from 'node:fs';
import { writeFinetuneFixture } from './fixture.ts';
import { writeReplayData } from './replay-fixture.ts';

const tmp = { path: '' };
let model: string;
let meta: string;
let general: string;
let tokenizer: Tokenizer;
before(async () => {
  ({ dir: tmp.path, model, meta } = await writeFinetuneFixture('minivl-replay-'));
  general = await writeReplayData(join(tmp.path, 'general'));
  tokenizer = await loadTokenizer(model);
});
after(() => rm(tmp.path, { recursive: true, force: true }));

test('replay slots: the realized share matches the ratio, reproducibly per seed', () => {
  const N = 20000;
  for (const ratio of [DEFAULT_REPLAY_RATIO, 0.05, 0.5]) {
    const slots = Array.from({ length: N }, (_, j) => isReplaySlot(42, j, ratio));
    const share = slots.filter(Boolean).length / N;
    const sigma = Math.sqrt((ratio * (1 - ratio)) / N);
    assert.ok(Math.abs(share - ratio) < 4 * sigma, `ratio ${ratio}: realized ${share}`);
    assert.deepEqual(Array.from({ length: N }, (_, j) => isReplaySlot(42, j, ratio)), slots);
    assert.notDeepEqual(Array.from({ length: N }, (_, j) => isReplaySlot(43, j, ratio)), slots);
  }
  assert.equal(DEFAULT_REPLAY_RATIO, 0.2);
  assert.equal(isReplaySlot(42, 3, 0), false);
});

test('the mixed stream: replay slots read the general data in its order, the rest the training data; a reopened stream continues exactly', async () => {
  const o = { tokenizer, template: 'Hermes-2', maxLength: 4096, maxDynamicPatch: 6, seed: 5 };
  const main = new TrainData(meta, o);
  const replay = new TrainData(general, o);
  const m = new MixedStream(main, replay, 0.4, 5);
  const got = [];
  for (let j = 0; j < 40; j++) got.push(await m.next());
  const replayed = got.filter((s) => s.origin.replay);
  assert.equal(replayed.length, Array.from({ length: 40 }, (_, j) => isReplaySlot(5, j, 0.4)).filter(Boolean).length);
  assert.ok(replayed.length >= 8 && replayed.length <= 24, `${replayed.length} of 40`);
  // Replay samples are the general data's stream positions 0, 1, 2, ... (its own seeded order).
  for (const [k, s] of replayed.entries()) assert.deepEqual(s.inputIds, (await replay.sample(k)).sample.inputIds);
  const mains = got.filter((s) => !s.origin.replay);
  for (const [k, s] of mains.entries()) assert.deepEqual(s.inputIds, (await main.sample(k)).sample.inputIds);
  // Reopened at slot 17 from its saved state.
  const first = new MixedStream(main, replay, 0.4, 5);
  for (let j = 0; j < 17; j++) await first.next();
  const again = new MixedStream(main, replay, 0.4, 5, JSON.parse(JSON.stringify(first.state)));
  for (let j = 17; j < 40; j++) {
    const s = await again.next();
    assert.deepEqual([s.inputIds, s.labels, s.origin], [got[j]!.inputIds, got[j]!.labels, got[j]!.origin]);
  }
});

test('non-packed fine-tuning with --replay logs the replay samples of every step', async () => {
  const out = join(tmp.path, 'run-replay');
  await finetune({ modelDir: model, metaFile: meta, outDir: out, mode: 'mlp', lr: 1e-3, maxSteps: 10, gradAccum: 2, replayMeta: general, replayRatio: 0.5, threads: 1 });
  const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const expected = Array.from({ length: 10 }, (_, k) => [0, 1].filter((i) => isReplaySlot(42, 2 * k + i, 0.5)).length);
  assert.deepEqual(log.map((r) => r.replay_samples), expected);
  assert.deepEqual(log.map((r) => r.samples), Array(10).fill(2));
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
  assert.equal(run.replay.ratio, 0.5);
});

test('flags that need packing or replay are refused without them', async () => {
  await assert.rejects(() => finetune({ modelDir: model, metaFile: meta, outDir: join(tmp.path, 'x1'), mode: 'mlp', lossReduction: 'square' }), /--loss-reduction .* needs --batch-tokens/);
  await assert.rejects(() => finetune({ modelDir: model, metaFile: meta, outDir: join(tmp.path, 'x2'), mode: 'mlp', batchTokens: 512 }), /--batch-tokens needs --max-steps/);
});
