// Packed training (training.md §5.2, §7.2): one pack of three samples through the training graph
// (block-diagonal causal attention, positions restarting per sample, tiles concatenated) gives the loss
// and every gradient of the samples run one by one, combined as the §7.2 weighting says; the packed
// stream resumes exactly from a saved state; a packed fine-tune (with --replay) learns, and a run
// killed with SIGKILL and resumed ends bitwise equal to an uninterrupted one.
//
// The identity: with n_s the supervised labels of sample s, w_s = w(n_s) its weight, m_s its shifted
// targets (its first token is never a target, so m_s = n_s here) and CEsum_s the sum of its targets'
// cross-entropies, the pack's loss is Σ_s w_s · CEsum_s / D with D = Σ_s w_s · m_s. A sample run alone
// (token mean) has loss_s = CEsum_s / m_s, so
//     loss_pack = Σ_s c_s · loss_s   and   ∇loss_pack = Σ_s c_s · ∇loss_s,   c_s = w_s · m_s / D.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile } from '../../../src/io/safetensors.ts';
import { openModelCheckpoint } from '../../../src/model/inventory.ts';
import { shapeOnlyWeights } from '../../../src/model/weights.ts';
import { buildDecoderGraph } from '../../../src/model/decoder.ts';
import { TrainingSession, type StepResult, type TrainingBatch } from '../../../src/runtime/training.ts';
import { relL2 } from '../../../src/runtime/metrics.ts';
import { packedBatch, packDenominator, PackedStream } from '../../../src/adapt/train/packed-data.ts';
import { allGatherLosses, sampleWeight, type LossReduction } from '../../../src/adapt/train/loss-weights.ts';
import { openTrainStream } from '../../../src/adapt/train/stream.ts';
import { assertKilledRunResumesBitwise, logRows } from './resume-harness.ts';
import { initialParams } from '../../../src/adapt/train/params.ts';
import { MixedStream, type MixState, type StreamSample } from '../../../src/adapt/train/replay.ts';
import { TrainData } from '../../../src/adapt/train/data.ts';
import { finetune } from '../../../src/adapt/train/trainer.ts';
import { loadTokenizer } from '../../../src/tokenizer/index.ts';
import { writeRandomCheckpoint } from '../../../src/dev/random-checkpoint.ts';
import { GOLDEN } from '../../helpers/paths.ts';
import { writeFinetuneData } from './fixture.ts';
import { writeReplayData } from './replay-fixture.ts';

const DIR = `${GOLDEN}/models/qwen2`;
const PIXELS = `${GOLDEN}/preprocess/model_input_wide_1920x1080_max2.safetensors`;
const TILE = 3 * 448 * 448;
const IMG = { start: 508, end: 509, context: 510 };

/** Three samples: the golden one (3 tiles, 793 tokens), a text one (its dummy tile flagged 0), a one-tile one. */
async function goldenSamples(): Promise<StreamSample[]> {
  const gold = await SafetensorsFile.open(`${DIR}/golden.safetensors`);
  const pixels = await (await SafetensorsFile.open(PIXELS)).readFloat32('pixel_values');
  const ids = (n: number, k: number) => Array.from({ length: n }, (_, i) => 11 + ((i * 37 + k * 101) % 490));
  const a: StreamSample = {
    inputIds: await gold.readIntegers('input_ids'), labels: await gold.readIntegers('loss_labels'), numTiles: 3,
    numImageTokens: [768], imageFlags: [1, 1, 1], pixelValues: pixels, origin: { replay: false, position: 0 },
  };
  const textIds = ids(40, 1);
  const b: StreamSample = {
    inputIds: textIds, labels: textIds.map((t, i) => (i < 22 ? -100 : t)), numTiles: 1, numImageTokens: [], imageFlags: [0],
    pixelValues: Float32Array.from({ length: TILE }, (_, i) => Math.cos(i / 11)), origin: { replay: false, position: 1 },
  };
  const cIds = [...ids(6, 2), IMG.start, ...Array(256).fill(IMG.context), IMG.end, ...ids(30, 3)];
  const c: StreamSample = {
    inputIds: cIds, labels: cIds.map((t, i) => (i < 270 ? -100 : t)), numTiles: 1, numImageTokens: [256], imageFlags: [1],
    pixelValues: pixels.slice(TILE, 2 * TILE), origin: { replay: true, position: 0 },
  };
  return [a, b, c];
}

const tmp = { path: '' };
before(async () => {
  tmp.path = await mkdtemp(join(tmpdir(), 'minivl-packing-'));
});
after(() => rm(tmp.path, { recursive: true, force: true }));

test('the inference decoder graph has no segment input (packing is a training-graph option)', async () => {
  const { ckpt, cfg } = await openModelCheckpoint(DIR);
  const g = buildDecoderGraph(cfg, shapeOnlyWeights(ckpt.names().map((n) => ({ name: n, shape: ckpt.tensor(n).shape }))));
  assert.ok(!g.listInputs().some((i) => i.name === 'segment_ids'));
});

test('one pack of three samples = the §7.2-weighted combination of the samples run one by one (loss and every gradient)', async () => {
  const samples = await goldenSamples();
  const ts = await TrainingSession.create(DIR, { vision: true, trainable: (n) => n.startsWith('mlp1.'), llmLora: { rank: 4, alpha: 8 } });
  try {
    // Non-zero LoRA A and B (B starts at zero in training, which would leave A's gradient at zero).
    const params = new Map<string, Float32Array>();
    for (const [j, p] of ts.graph.params.entries()) {
      const n = p.shape.reduce((x, y) => x * y, 1);
      params.set(p.name, p.name.startsWith('mlp1.') ? await ts.checkpoint.readFloat32(p.name) : Float32Array.from({ length: n }, (_, i) => 0.05 * Math.sin(i * 0.37 + j)));
    }
    const alone: StepResult[] = [];
    for (const s of samples) alone.push(await ts.step({ inputIds: s.inputIds, labels: s.labels, pixelValues: s.pixelValues, imageFlags: s.imageFlags, imgContextId: IMG.context }, params, { logits: true }));
    const n = samples.map((s) => s.labels.filter((l) => l !== -100).length);
    assert.deepEqual(alone.map((r) => r.supervised), n); // first tokens are unsupervised: m_s = n_s

    for (const mode of ['square', 'token', 'sample'] as LossReduction[]) {
      const pack = packedBatch(samples, mode);
      assert.deepEqual(pack.cuSeqlens, [0, 793, 833, 833 + 294]);
      assert.equal(pack.numTiles, 5);
      assert.equal(pack.replaySamples, 1);
      const w = n.map((k) => sampleWeight(k, mode));
      const D = w.reduce((acc, ws, s) => acc + ws * n[s]!, 0);
      assert.ok(Math.abs(pack.denominator - D) / D < 1e-6, `${mode}: D ${pack.denominator} vs ${D}`);
      const c = w.map((ws, s) => (ws * n[s]!) / D);
      const batch: TrainingBatch = { ...pack, imgContextId: IMG.context };
      const r = await ts.step(batch, params);
      const expected = c.reduce((acc, cs, s) => acc + cs * alone[s]!.loss, 0);
      assert.ok(Math.abs(r.loss - expected) < 1e-4, `${mode}: pack loss ${r.loss} vs ${expected}`);
      if (mode !== 'square') continue;
      for (const p of ts.graph.params) {
        const want = new Float32Array(r.grads.get(p.name)!.length);
        alone.forEach((a, s) => a.grads.get(p.name)!.forEach((g, i) => { want[i] = want[i]! + c[s]! * g; }));
        const err = relL2(r.grads.get(p.name)!, want);
        assert.ok(err < 1e-3, `grad ${p.name}: rel L2 ${err}`);
      }
      // Every supervised position's logits are the sample's own; as one causal sequence (no block mask,
      // positions running on) they are not.
      const own = Float32Array.from(alone.flatMap((x) => [...x.logits!]));
      const packed = (await ts.step(batch, params, { logits: true })).logits!;
      const unmasked = (await ts.step({ ...batch, cuSeqlens: undefined, denominator: pack.denominator }, params, { logits: true })).logits!;
      const errOwn = relL2(packed, own);
      const errUnmasked = relL2(unmasked, own);
      assert.ok(errOwn < 1e-4, `pack vs one-by-one logits rel L2 ${errOwn}`);
      assert.ok(errUnmasked > 100 * errOwn && errUnmasked > 1e-4, `cross-sample attention changed nothing (${errUnmasked} vs ${errOwn})`);
    }
  } finally {
    await ts.release();
  }
});

test('packDenominator skips the first token of every sample after the first', () => {
  assert.equal(packDenominator([9, 1, 1, 5, 2, 7, 3], [0, 3, 5, 7]), 1 + 1 + 2 + 3);
});

let model = '';
let meta = '';
let replayMeta = '';
async function fixtures(): Promise<void> {
  if (model) return;
  model = join(tmp.path, 'tiny-1b');
  await writeRandomCheckpoint({ like: 'internvl2-1b', tiny: true, out: model });
  meta = await writeFinetuneData(join(tmp.path, 'data'));
  replayMeta = await writeReplayData(join(tmp.path, 'general'));
}

test('the packed stream reopened from a saved state yields exactly the packs of the uninterrupted stream', async () => {
  await fixtures();
  const tokenizer = await loadTokenizer(model);
  const o = { tokenizer, template: 'Hermes-2', maxLength: 4096, maxDynamicPatch: 6, seed: 7 };
  const open = (mix?: MixState) => new MixedStream(new TrainData(meta, o), new TrainData(replayMeta, o), 0.3, 7, mix);
  const opts = { maxTokens: 700, maxTiles: 3, maxBuffers: 2, lossReduction: 'square' as const };
  const whole = await PackedStream.open(open(), opts);
  const seen = [];
  for (let i = 0; i < 12; i++) seen.push(await whole.next());
  const first = await PackedStream.open(open(), opts);
  for (let i = 0; i < 5; i++) await first.next();
  const saved = JSON.parse(JSON.stringify(first.state()));
  assert.ok(saved.held.flat().length > 0, 'the saved state holds samples (the case resume must get right)');
  const resumed = await PackedStream.open(open(saved.mix), opts, saved);
  for (let i = 5; i < 12; i++) {
    const p = await resumed.next();
    assert.deepEqual([p.inputIds, p.labels, p.cuSeqlens, p.imageFlags], [seen[i]!.inputIds, seen[i]!.labels, seen[i]!.cuSeqlens, seen[i]!.imageFlags]);
    assert.deepEqual(p.lossWeights, seen[i]!.lossWeights);
    assert.ok(Buffer.from(p.pixelValues.buffer).equals(Buffer.from(seen[i]!.pixelValues.buffer)));
  }
  // Every pack respects the limits; tiles and tokens line up.
  for (const p of seen) {
    assert.ok(p.inputIds.length <= 700 && p.numTiles <= 3);
    assert.equal(p.pixelValues.length, p.numTiles * TILE);
  }
  assert.ok(seen.some((p) => p.samples > 1), 'some pack holds several samples');
  // Limits no sample fits: a clear error, not an endless loop.
  const drops: string[] = [];
  const tooSmall = await PackedStream.open(open(), { ...opts, maxTokens: 16, warn: (m) => drops.push(m) });
  await assert.rejects(() => tooSmall.next(), /100 samples in a row exceed a pack \(16 tokens, 3 tiles\)/);
  assert.match(drops[0]!, /data position \d+: skipped: sample cannot be packed: \d+ tokens > 16/);
});

test('packed LoRA fine-tuning (square loss, grad-accum 2): the loss falls', async () => {
  await fixtures();
  const out = join(tmp.path, 'run-packed');
  await finetune({ modelDir: model, metaFile: meta, outDir: out, mode: 'lora', loraRank: 8, lr: 1e-2, maxSteps: 16, gradAccum: 2, batchTokens: 700, batchTiles: 2, saveSteps: 100, threads: 1 });
  const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(log.length, 16);
  const mean = (xs: { loss: number }[]) => xs.reduce((a, b) => a + b.loss, 0) / xs.length;
  assert.ok(mean(log.slice(-4)) < mean(log.slice(0, 4)) - 0.1, `loss ${mean(log.slice(0, 4))} → ${mean(log.slice(-4))}`);
  assert.ok(log.every((r) => r.samples >= 2) && log.some((r) => r.samples > 2), 'packs of several samples, two packs per step');
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
  assert.deepEqual(run.packing, { maxTokens: 700, maxTiles: 2, maxBuffers: 20, lossReduction: 'square' });
});

test('packed trainer with --grad-accum 2: the packs of a step share one D (§7.2 all-gather), the logged loss is Σ CE·w / Σ w over both', async () => {
  await fixtures();
  const out = join(tmp.path, 'run-shared-d');
  const packing = { maxTokens: 700, maxTiles: 2, maxBuffers: 20, lossReduction: 'sample' as const };
  await finetune({ modelDir: model, metaFile: meta, outDir: out, mode: 'mlp', maxSteps: 1, gradAccum: 2, batchTokens: 700, batchTiles: 2, lossReduction: 'sample', threads: 1 });
  const logged = JSON.parse(readFileSync(join(out, 'log.jsonl'), 'utf8').trim()).loss as number;

  const tokenizer = await loadTokenizer(model);
  const data = new TrainData(meta, { tokenizer, template: 'Hermes-2', maxLength: 4096, maxDynamicPatch: 6, seed: 42 });
  const { micro, divisor } = await (await openTrainStream({ data, replay: null, packing, seed: 42, position: 0 })).next(2);
  assert.equal(divisor, 1);
  const own = micro.map((b) => packDenominator(b.lossWeights!, b.cuSeqlens!));
  assert.deepEqual(micro.map((b) => b.denominator), [own[0]! + own[1]!, own[0]! + own[1]!]);
  const ts = await TrainingSession.create(model, { vision: true, trainable: (n) => n.startsWith('mlp1.'), intraOpNumThreads: 1 });
  try {
    const params = await initialParams(ts.graph.params, ts.checkpoint, 42);
    // Each pack alone (its own D): Σ CE·w = loss · D.
    const sums = [];
    for (const [k, b] of micro.entries()) sums.push((await ts.step({ ...b, denominator: own[k], imgContextId: tokenizer.tokenToId('<IMG_CONTEXT>')! }, params)).loss * own[k]!);
    const ranks = allGatherLosses(sums, own);
    const expected = ranks.reduce((a, b) => a + b, 0) / ranks.length;
    assert.ok(Math.abs(expected - (sums[0]! + sums[1]!) / (own[0]! + own[1]!)) < 1e-6);
    assert.ok(Math.abs(logged - expected) < 1e-4, `logged ${logged} vs ${expected}`);
  } finally {
    await ts.release();
  }
});

test('a packed run with --replay killed with SIGKILL and resumed ends bitwise equal to an uninterrupted one', async () => {
  await fixtures();
  const flags = (out: string) => ['--model', model, '--meta', meta, '--mode', 'lora', '--lora-rank', '4', '--lr', '5e-3', '--max-steps', '8', '--save-steps', '3',
    '--grad-accum', '2', '--batch-tokens', '700', '--batch-tiles', '3', '--max-buffers', '2', '--replay', replayMeta, '--replay-ratio', '0.3', '--threads', '1', '--out', out];
  const whole = join(tmp.path, 'packed-whole');
  const broken = join(tmp.path, 'packed-killed');
  await assertKilledRunResumesBitwise(flags, whole, broken);
  const rows = (dir: string) => logRows(dir).map((r) => [r.loss, r.grad_norm, r.samples, r.replay_samples]);
  assert.deepEqual(rows(broken), rows(whole));
  assert.ok(rows(whole).some((r) => r[3] > 0), 'replay samples were used');
});
