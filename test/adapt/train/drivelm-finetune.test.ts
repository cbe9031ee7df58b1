// Fine-tuning on a small converted data set: the real DriveLM challenge file (../shared/assets, read in
// place) through the DriveLM converter (stand-in camera images at the paths it references), a few of its
// records, LoRA for a few dozen steps on a tiny random InternVL2-1B-shaped checkpoint. The loss falls; the
// merged export (default dtype: the source's, here f32) reloads with minivl's loader and reproduces the
// adapted model's logits; the unmerged adapter applied at load (`--lora`) gives the same logits. A bf16
// source merges to bf16 by default, with config flags reset and tokenizer files carried.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { runConverter } from '../../../src/adapt/convert/run.ts';
import { CAMERAS, type Camera } from '../../../src/adapt/convert/ctag.ts';
import { finetune } from '../../../src/adapt/train/trainer.ts';
import { TrainData } from '../../../src/adapt/train/data.ts';
import { loadParams } from '../../../src/adapt/train/params.ts';
import { SafetensorsFile, writeSafetensors } from '../../../src/io/safetensors.ts';
import { loadTokenizer } from '../../../src/tokenizer/index.ts';
import { IMG_CONTEXT_TOKEN } from '../../../src/prompt/index.ts';
import { Model } from '../../../src/runtime/model.ts';
import { TrainingSession } from '../../../src/runtime/training.ts';
import { relL2 } from '../../../src/runtime/metrics.ts';
import { writeRandomCheckpoint } from '../../../src/dev/random-checkpoint.ts';
import { ASSETS } from '../../helpers/paths.ts';
import { tempDir } from '../../helpers/tmp.ts';

const DRIVELM = join(ASSETS, 'datasets', 'drivelm', 'train_sample.json');
const RECORDS = 3; // the first records of the converted file (repeat_time < 1 keeps the first ⌊n·r⌋ lines)
const EPOCHS = 12;
const dir = await tempDir('minivl-drivelm-finetune-');

/** A solid-colour 1600x900 JPEG (the nuScenes camera size) at every camera path of the DriveLM file. */
async function standInCameras(base: string): Promise<void> {
  const data = JSON.parse(readFileSync(DRIVELM, 'utf8')) as Record<string, { key_frames: Record<string, { image_paths: Record<string, string> }> }>;
  let k = 0;
  for (const scene of Object.values(data)) {
    for (const frame of Object.values(scene.key_frames)) {
      k++;
      for (const [cam, p] of Object.entries(frame.image_paths)) {
        const c = CAMERAS.indexOf(cam as Camera);
        const out = resolve(base, p);
        mkdirSync(dirname(out), { recursive: true });
        await sharp({ create: { width: 1600, height: 900, channels: 3, background: { r: 30 + 35 * c, g: (40 * k) % 256, b: 200 - 25 * c } } }).jpeg().toFile(out);
      }
    }
  }
}

/** The checkpoint with every tensor widened to f32 (an f32 source checkpoint). */
async function f32Copy(src: string, out: string): Promise<void> {
  mkdirSync(out);
  const f = await SafetensorsFile.open(join(src, 'model.safetensors'));
  const tensors = [];
  for (const name of f.names()) tensors.push({ name, dtype: 'F32' as const, shape: f.info(name).shape, data: await f.readFloat32(name) });
  await writeSafetensors(join(out, 'model.safetensors'), tensors, { format: 'pt' });
  for (const n of readdirSync(src)) if (n !== 'model.safetensors') copyFileSync(join(src, n), join(out, n));
}

const bf16Model = join(dir, 'tiny-1b');
await writeRandomCheckpoint({ like: 'internvl2-1b', tiny: true, out: bf16Model });
const model = join(dir, 'tiny-1b-f32');
await f32Copy(bf16Model, model);
const images = join(dir, 'nuscenes');
await standInCameras(images);
const converted = await runConverter('drivelm', { input: DRIVELM, out: join(dir, 'drivelm', 'train.jsonl'), images, force: false, flags: {} });
const meta = join(dir, 'meta.json');
const [name, entry] = Object.entries(converted.meta)[0]!;
writeFileSync(meta, JSON.stringify({ [name]: { ...entry, repeat_time: (RECORDS + 0.5) / converted.converted, length: RECORDS } }));

test('LoRA on converted DriveLM records: the loss falls; merged/ (f32, the source dtype) and --lora reproduce the adapted logits', async (t) => {
  assert.equal(converted.converted, 790);
  const out = join(dir, 'run');
  const r = await finetune({ modelDir: model, metaFile: meta, outDir: out, mode: 'lora', loraRank: 16, lr: 5e-3, epochs: EPOCHS, maxDynamicPatch: 1, maxLength: 1024, saveSteps: 10, threads: 1 });
  assert.equal(r.steps, EPOCHS * RECORDS);
  const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss: number; tokens: number });
  assert.equal(log.length, EPOCHS * RECORDS);
  const mean = (xs: { loss: number }[]) => xs.reduce((a, b) => a + b.loss, 0) / xs.length;
  const [first, last] = [mean(log.slice(0, RECORDS)), mean(log.slice(-RECORDS))]; // first and last epoch: the same records
  assert.ok(last < first - 0.3, `loss ${first} → ${last}`);
  assert.ok(log.every((s) => s.tokens > 256), 'every sample carries its image (256 tokens for one tile) and text');

  // The merged export keeps the source's dtype by default: f32 here.
  const mergedF = await SafetensorsFile.open(join(r.mergedDir, 'model.safetensors'));
  assert.equal(mergedF.info('language_model.model.layers.0.self_attn.q_proj.weight').dtype, 'F32');

  // Logits of the adapted model (base + unmerged adapter in the training graph) on a converted record.
  const tokenizer = await loadTokenizer(model);
  const data = new TrainData(meta, { tokenizer, template: 'Hermes-2', maxLength: 1024, maxDynamicPatch: 1, seed: 42 });
  const { sample } = await data.sample(0);
  assert.deepEqual(sample.numImageTokens, [256]);
  const ctx = tokenizer.tokenToId(IMG_CONTEXT_TOKEN)!;
  const ts = await TrainingSession.create(model, { vision: true, trainable: [], llmLora: { rank: 16, alpha: 32 }, intraOpNumThreads: 1 });
  const params = await loadParams(join(r.adapterDir!, 'adapter_model.safetensors'), ts.graph.params);
  const adapted = await ts.step({ inputIds: sample.inputIds, labels: sample.labels, pixelValues: sample.pixelValues, imgContextId: ctx }, params, { logits: true });
  await ts.release();
  const logitsOf = async (m: Model) => {
    const vit = await m.encodeImages(sample.pixelValues!, sample.numTiles);
    return (await m.forward({ embeds: await m.embedWithImages(sample.inputIds, vit.vitEmbeds, ctx), logitsPositions: adapted.positions })).logits;
  };
  const merged = await Model.load(r.mergedDir, { intraOpNumThreads: 1 });
  const viaLora = await Model.load(model, { intraOpNumThreads: 1, loraAdapter: r.adapterDir! });
  const base = await Model.load(model, { intraOpNumThreads: 1 });
  try {
    const errMerged = relL2(await logitsOf(merged), adapted.logits!);
    assert.ok(errMerged < 1e-4, `merged vs adapted logits rel L2 ${errMerged}`);
    const errLora = relL2(await logitsOf(viaLora), adapted.logits!);
    assert.ok(errLora < 1e-4, `--lora vs adapted logits rel L2 ${errLora}`);
    t.diagnostic(`loss (epoch mean) ${first.toFixed(4)} → ${last.toFixed(4)}; logits rel L2 vs adapted: merged ${errMerged.toExponential(2)}, --lora ${errLora.toExponential(2)}`);
    assert.ok(relL2(await logitsOf(base), adapted.logits!) > 1e-3, 'the adapter changed nothing');
  } finally {
    await Promise.all([merged.release(), viaLora.release(), base.release()]);
  }
});

test('merged/ of a bf16 checkpoint: bf16 by default, W + (α/r)·B·A to bf16 precision, LoRA flags reset, tokenizer files carried', async () => {
  const r = await finetune({ modelDir: bf16Model, metaFile: meta, outDir: join(dir, 'run-bf16'), mode: 'lora', loraRank: 4, lr: 1e-2, maxSteps: 2, maxDynamicPatch: 1, maxLength: 1024, threads: 1 });
  const module = 'language_model.model.layers.0.self_attn.q_proj';
  const src = await SafetensorsFile.open(join(bf16Model, 'model.safetensors'));
  const merged = await SafetensorsFile.open(join(r.mergedDir, 'model.safetensors'));
  const adapter = await SafetensorsFile.open(join(r.adapterDir!, 'adapter_model.safetensors'));
  assert.deepEqual([src.info(`${module}.weight`).dtype, merged.info(`${module}.weight`).dtype], ['BF16', 'BF16']);
  // The merge by hand, in float64: W' = W + (8/4)·B·A.
  const peft = `language_model.base_model.model.${module.slice('language_model.'.length)}`;
  const [w, a, b] = await Promise.all([src.readFloat32(`${module}.weight`), adapter.readFloat32(`${peft}.lora_A.default.weight`), adapter.readFloat32(`${peft}.lora_B.default.weight`)]);
  const [out, inF] = src.info(`${module}.weight`).shape as [number, number];
  const want = Float32Array.from(w, (x, j) => {
    const [o, i] = [Math.floor(j / inF), j % inF];
    let s = 0;
    for (let k = 0; k < 4; k++) s += b[o * 4 + k]! * a[k * inF + i]!;
    return x + 2 * s;
  });
  assert.equal(want.length, out * inF);
  assert.ok(relL2(await merged.readFloat32(`${module}.weight`), want) < 4e-3);
  assert.ok(relL2(want, w) > 1e-4, 'the adapter is not trained');
  assert.deepEqual(await merged.readBytes('mlp1.1.weight'), await src.readBytes('mlp1.1.weight')); // untouched: copied as is
  const cfg = JSON.parse(readFileSync(join(r.mergedDir, 'config.json'), 'utf8'));
  assert.deepEqual([cfg.use_llm_lora, cfg.use_backbone_lora], [0, 0]);
  const carried = readdirSync(bf16Model).filter((n) => n !== 'config.json' && !n.endsWith('.safetensors'));
  assert.ok(carried.includes('tokenizer_config.json') && carried.includes('vocab.json'), carried.join(', '));
  for (const n of carried) assert.ok(readFileSync(join(r.mergedDir, n)).equals(readFileSync(join(bf16Model, n))), `${n} carried into merged/`);
});
