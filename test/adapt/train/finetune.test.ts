// minivl finetune end to end on a tiny random InternVL2-1B-shaped checkpoint (real Qwen2 tokenizer)
// and a small converted data set: the loss falls; the merged export reloads and reproduces the
// adapted model's logits; a run killed with SIGKILL and resumed ends with bitwise the same adapter
// as an uninterrupted one (same thread count: ORT's CPU kernels then sum in a fixed order).
import { test, before, after } from 'node:test';
import { rm } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { finetune } from '../../../src/adapt/train/trainer.ts';
import { TrainData } from '../../../src/adapt/train/data.ts';
import { loadParams } from '../../../src/adapt/train/params.ts';
import { SafetensorsFile } from '../../../src/io/safetensors.ts';
import { loadTokenizer } from '../../../src/tokenizer/index.ts';
import { Model } from '../../../src/runtime/model.ts';
import { TrainingSession } from '../../../src/runtime/training.ts';
import { relL2 } from '../../../src/runtime/metrics.ts';
import { BIN } from '../../helpers/cli.ts';
import { ROOT } from '../../helpers/paths.ts';
import { writeFinetuneFixture } from './fixture.ts';
import { assertKilledRunResumesBitwise, logRows } from './resume-harness.ts';

const tmp = { path: '' };
let model: string;
let meta: string;

before(async () => {
  ({ dir: tmp.path, model, meta } = await writeFinetuneFixture('minivl-finetune-'));
});
after(() => rm(tmp.path, { recursive: true, force: true }));

test('LoRA fine-tuning: the loss falls, the run folder is complete, the merged checkpoint reproduces the adapted logits', async () => {
  const out = join(tmp.path, 'run-lora');
  const r = await finetune({ modelDir: model, metaFile: meta, outDir: out, mode: 'lora', loraRank: 8, lr: 1e-2, maxSteps: 24, saveSteps: 8, mergedDtype: 'F32', threads: 1 });
  const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(log.length, 24);
  assert.equal(log[0].lr, 0); // the first scheduled step has lr 0
  const mean = (xs: { loss: number }[]) => xs.reduce((a, b) => a + b.loss, 0) / xs.length;
  assert.ok(mean(log.slice(-6)) < mean(log.slice(0, 6)) - 0.1, `loss ${mean(log.slice(0, 6))} → ${mean(log.slice(-6))}`);
  assert.match(readFileSync(join(out, 'loss.svg'), 'utf8'), /^<svg [^]*<polyline/);
  const cfgJson = JSON.parse(readFileSync(join(r.mergedDir, 'config.json'), 'utf8'));
  assert.equal(cfgJson.use_llm_lora, 0);
  const adapterCfg = JSON.parse(readFileSync(join(r.adapterDir!, 'adapter_config.json'), 'utf8'));
  assert.deepEqual([adapterCfg.peft_type, adapterCfg.r, adapterCfg.lora_alpha, adapterCfg.lora_dropout], ['LORA', 8, 16, 0.05]);
  const adapter = await SafetensorsFile.open(join(r.adapterDir!, 'adapter_model.safetensors'));
  assert.ok(adapter.has('language_model.base_model.model.model.layers.1.mlp.down_proj.lora_B.default.weight'));
  assert.equal(adapter.names().length, 2 * 7 * 2);

  // The adapted model (base + unmerged adapter in the training graph) vs the merged checkpoint.
  const tokenizer = await loadTokenizer(model);
  const data = new TrainData(meta, { tokenizer, template: 'Hermes-2', maxLength: 4096, maxDynamicPatch: 6, seed: 42 });
  const ids = tokenizer.tokenToId('<IMG_CONTEXT>')!;
  let sample = (await data.sample(0)).sample;
  for (let i = 1; !sample.numImageTokens.length; i++) sample = (await data.sample(i)).sample;
  const ts = await TrainingSession.create(model, { vision: true, trainable: [], llmLora: { rank: 8, alpha: 16 }, intraOpNumThreads: 1 });
  const params = await loadParams(join(r.adapterDir!, 'adapter_model.safetensors'), ts.graph.params);
  const adapted = await ts.step({ inputIds: sample.inputIds, labels: sample.labels, pixelValues: sample.pixelValues, imgContextId: ids }, params, { logits: true });
  await ts.release();
  const merged = await Model.load(r.mergedDir, { intraOpNumThreads: 1 });
  try {
    const vit = await merged.encodeImages(sample.pixelValues!, sample.numTiles);
    const fwd = await merged.forward({ embeds: await merged.embedWithImages(sample.inputIds, vit.vitEmbeds, ids), logitsPositions: adapted.positions });
    const err = relL2(fwd.logits, adapted.logits!);
    assert.ok(err < 1e-4, `merged vs adapted logits rel L2 ${err}`);
    // The unmerged adapter applied at load (minivl chat --lora) gives the same logits.
    const unmerged = await Model.load(model, { intraOpNumThreads: 1, loraAdapter: r.adapterDir! });
    const u = await unmerged.forward({ embeds: await unmerged.embedWithImages(sample.inputIds, (await unmerged.encodeImages(sample.pixelValues!, sample.numTiles)).vitEmbeds, ids), logitsPositions: adapted.positions });
    await unmerged.release();
    const errU = relL2(u.logits, adapted.logits!);
    assert.ok(errU < 1e-4, `--lora vs adapted logits rel L2 ${errU}`);
    // minivl chat --lora loads the adapter and answers as the merged checkpoint does (a smoke test: the
    // logits check above is the exact one; the random tiny model may well answer with nothing).
    const ask = (...a: string[]) => spawnSync(process.execPath, [BIN, 'chat', ...a, '--image', join(tmp.path, 'data', 'images', 'red.png'), '--max-new-tokens', '3', 'What colour is this?'], { cwd: ROOT, encoding: 'utf8' });
    const viaLora = ask('--model', model, '--lora', r.adapterDir!);
    const viaMerged = ask('--model', r.mergedDir);
    assert.equal(viaLora.status, 0, viaLora.stderr);
    assert.equal(viaLora.stdout, viaMerged.stdout);
    // And the adapter did change the model.
    const base = await Model.load(model, { intraOpNumThreads: 1 });
    const b = await base.forward({ embeds: await base.embedWithImages(sample.inputIds, (await base.encodeImages(sample.pixelValues!, sample.numTiles)).vitEmbeds, ids), logitsPositions: adapted.positions });
    await base.release();
    assert.ok(relL2(b.logits, adapted.logits!) > 1e-3);
  } finally {
    await merged.release();
  }
});

test('ViT + LLM LoRA: the adapter records both ranks; --lora and the merged checkpoint agree', async () => {
  const out = join(tmp.path, 'run-vit');
  const r = await finetune({ modelDir: model, metaFile: meta, outDir: out, mode: 'lora', loraRank: 4, visionLoraRank: 2, lr: 1e-2, maxSteps: 3, mergedDtype: 'F32', threads: 1 });
  const cfg = JSON.parse(readFileSync(join(r.adapterDir!, 'adapter_config.json'), 'utf8'));
  assert.deepEqual([cfg.r, cfg.minivl_vision_lora.r, cfg.minivl_vision_lora.lora_alpha], [4, 2, 4]);
  const adapter = await SafetensorsFile.open(join(r.adapterDir!, 'adapter_model.safetensors'));
  assert.deepEqual(adapter.info('vision_model.base_model.model.encoder.layers.1.mlp.fc2.lora_A.default.weight').shape, [2, 128]);
  const pixels = Float32Array.from({ length: 3 * 448 * 448 }, (_, i) => Math.sin(i / 7));
  const viaLora = await Model.load(model, { intraOpNumThreads: 1, loraAdapter: r.adapterDir! });
  const merged = await Model.load(r.mergedDir, { intraOpNumThreads: 1 });
  const base = await Model.load(model, { intraOpNumThreads: 1 });
  try {
    const [a, b, c] = await Promise.all([viaLora, merged, base].map(async (m) => (await m.encodeImages(pixels, 1)).vitEmbeds));
    assert.ok(relL2(a!, b!) < 1e-4, `vit_embeds --lora vs merged ${relL2(a!, b!)}`);
    assert.ok(relL2(a!, c!) > 1e-4, 'the ViT adapter changed nothing');
  } finally {
    await Promise.all([viaLora.release(), merged.release(), base.release()]);
  }
});

test('projector (mlp) fine-tuning trains mlp1 only and exports it', async () => {
  const out = join(tmp.path, 'run-mlp');
  const r = await finetune({ modelDir: model, metaFile: meta, outDir: out, mode: 'mlp', lr: 1e-3, maxSteps: 4, threads: 1 });
  assert.equal(r.adapterDir, null);
  const mergedF = await SafetensorsFile.open(join(r.mergedDir, 'model.safetensors'));
  const base = await SafetensorsFile.open(join(model, 'model.safetensors'));
  assert.notDeepEqual(await mergedF.readBytes('mlp1.1.weight'), await base.readBytes('mlp1.1.weight'));
  assert.deepEqual(await mergedF.readBytes('language_model.model.layers.0.mlp.up_proj.weight'), await base.readBytes('language_model.model.layers.0.mlp.up_proj.weight'));
});

test('a run killed with SIGKILL and resumed ends with the same adapter as an uninterrupted one (bitwise)', async () => {
  const flags = (out: string) => ['--model', model, '--meta', meta, '--mode', 'lora', '--lora-rank', '4', '--lr', '5e-3', '--max-steps', '12', '--save-steps', '4', '--threads', '1', '--out', out];
  const whole = join(tmp.path, 'run-whole');
  const broken = join(tmp.path, 'run-killed');
  await assertKilledRunResumesBitwise(flags, whole, broken);
  assert.deepEqual(logRows(broken).map((r) => r.loss), logRows(whole).map((r) => r.loss));
});

test('finetune refuses an existing run folder without --resume/--force, and a resume without a checkpoint', async () => {
  const out = join(tmp.path, 'run-lora');
  await assert.rejects(() => finetune({ modelDir: model, metaFile: meta, outDir: out, mode: 'lora' }), /already exists \(use --resume/);
  await assert.rejects(() => finetune({ modelDir: model, metaFile: meta, outDir: join(tmp.path, 'nothing'), mode: 'lora', resume: true }), /no checkpoint to resume from/);
});
