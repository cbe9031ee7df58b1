// Full fine-tuning. Gradients against the reference: lora_golden.safetensors holds d loss/d A and
// d loss/d B of LoRA (rank 4, alpha 8, dropout 0, A and B both non-zero) on the official targets. With
// W_eff = W + s·B·A, the chain rule gives dL/dB = s·G·Aᵀ and dL/dA = s·Bᵀ·G for G = dL/dW_eff, so
// full-mode gradients taken at the merged weights must reproduce both golden gradients (1e-3 relative
// L2, golden/README.md), and the projector's directly. The token embedding (gathered outside the
// graph, its gradient scattered back) is checked by a finite difference and against a tied head.
// Then a short full-mode run on a tiny checkpoint: the loss falls, a crashed run resumes exactly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile, writeSafetensors } from '../../../src/io/safetensors.ts';
import { loraScaling, mergeLoraWeight, moduleOfPeftName } from '../../../src/model/lora.ts';
import { TrainingSession, type TrainingBatch } from '../../../src/runtime/training.ts';
import { initialParams } from '../../../src/adapt/train/params.ts';
import { fullModeTrainable } from '../../../src/adapt/train/full.ts';
import { finetune } from '../../../src/adapt/train/trainer.ts';
import { relL2 } from '../../../src/runtime/metrics.ts';
import { GOLDEN } from '../../helpers/paths.ts';
import { minivlBatch } from '../../helpers/cli.ts';
import { writeFinetuneFixture } from './fixture.ts';

const PIXELS = `${GOLDEN}/preprocess/model_input_wide_1920x1080_max2.safetensors`;
const GRAD_TOL = 1e-3;
const LOSS_TOL = 1e-4;

/** C [m, n] = op(A) · op(B) for row-major A, B (tA/tB: use the transpose). */
function matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, tA: boolean, tB: boolean): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let x = 0; x < k; x++) s += (tA ? a[x * m + i]! : a[i * k + x]!) * (tB ? b[j * k + x]! : b[x * n + j]!);
    c[i * n + j] = s;
  }
  return c;
}

async function goldenBatch(dir: string): Promise<{ gold: SafetensorsFile; batch: TrainingBatch }> {
  const gold = await SafetensorsFile.open(`${dir}/lora_golden.safetensors`);
  const meta = JSON.parse(await readFile(`${dir}/meta.json`, 'utf8')) as { img_context_id: number };
  const pv = await (await SafetensorsFile.open(PIXELS)).readFloat32('pixel_values');
  // One tile (golden/README.md: pixel_values[0:1]).
  const batch = { inputIds: await gold.readIntegers('input_ids'), labels: await gold.readIntegers('labels'), pixelValues: pv.subarray(0, 3 * 448 * 448), imgContextId: meta.img_context_id };
  return { gold, batch };
}

for (const family of ['qwen2', 'internlm2', 'phi3']) {
  test(`${family}: full-mode gradients at the merged weights reproduce the golden LoRA and projector gradients`, async () => {
    const dir = `${GOLDEN}/models/${family}`;
    const { gold, batch } = await goldenBatch(dir);
    const ts = await TrainingSession.create(dir, { vision: true, trainable: fullModeTrainable(false), trainEmbedding: true, intraOpNumThreads: 1 });
    try {
      const values = await initialParams(ts.graph.params, ts.checkpoint, 0);
      const lora = new Map<string, { a?: Float32Array; b?: Float32Array }>();
      for (const n of gold.names()) {
        if (!n.startsWith('param.')) continue;
        const name = n.slice('param.'.length);
        const m = moduleOfPeftName(name);
        if (!m) {
          assert.ok(values.has(name), `golden trains '${name}', full mode does not`);
          values.set(name, await gold.readFloat32(n));
          continue;
        }
        const e = lora.get(m.module) ?? {};
        e[m.part === 'A' ? 'a' : 'b'] = await gold.readFloat32(n);
        lora.set(m.module, e);
      }
      const s = loraScaling({ rank: 4, alpha: 8 });
      const shapes = new Map(ts.graph.params.map((p) => [p.name, p.shape]));
      for (const [module, { a, b }] of lora) {
        const [out, inF] = shapes.get(`${module}.weight`)!;
        // A golden with B = 0 would make dL/dA = 0 and leave only the B identity informative.
        assert.ok(a!.some((x) => x !== 0) && b!.some((x) => x !== 0), `${module}: A and B must both be non-zero`);
        values.set(`${module}.weight`, mergeLoraWeight(values.get(`${module}.weight`)!, a!, b!, out!, inF!, s));
      }
      const r = await ts.step(batch, values);
      const goldLoss = (await gold.readFloat32('loss'))[0]!;
      assert.ok(Math.abs(r.loss - goldLoss) < LOSS_TOL, `loss ${r.loss} vs ${goldLoss}`);
      let checked = 0;
      for (const [module, { a, b }] of lora) {
        const [out, inF] = shapes.get(`${module}.weight`)!;
        const rank = a!.length / inF!;
        const G = r.grads.get(`${module}.weight`)!;
        const dB = matmul(G, a!, out!, inF!, rank, false, true).map((x) => s * x); // s·G·Aᵀ [out, r]
        const dA = matmul(b!, G, rank, out!, inF!, true, false).map((x) => s * x); // s·Bᵀ·G [r, in]
        const base = module.replace(/^(language_model|vision_model)\./, '$1.base_model.model.');
        const eB = relL2(dB, await gold.readFloat32(`grad.${base}.lora_B.default.weight`));
        const eA = relL2(dA, await gold.readFloat32(`grad.${base}.lora_A.default.weight`));
        assert.ok(eB < GRAD_TOL && eA < GRAD_TOL, `${module}: dL/dB ${eB}, dL/dA ${eA}`);
        checked += 2;
      }
      for (const n of gold.names().filter((x) => x.startsWith('grad.mlp1.'))) {
        const e = relL2(r.grads.get(n.slice('grad.'.length))!, await gold.readFloat32(n));
        assert.ok(e < GRAD_TOL, `${n}: ${e}`);
        checked++;
      }
      const targets = { qwen2: 7, internlm2: 5, phi3: 4 }[family]!;
      assert.equal(checked, 2 * targets * 2 + 6);
      // Every LLM and projector tensor is trained, the ViT is not.
      const names = new Set(ts.graph.params.map((p) => p.name));
      assert.ok(ts.checkpoint.names().filter((n) => n.startsWith('language_model.') || n.startsWith('mlp1.')).every((n) => names.has(n)));
      assert.ok(![...names].some((n) => n.startsWith('vision_model.')));
    } finally {
      await ts.release();
    }
  });
}

test('qwen2: the token embedding gradient (scattered outside the graph) agrees with a finite difference; tied = head + embedding', async () => {
  const dir = `${GOLDEN}/models/qwen2`;
  const { batch } = await goldenBatch(dir);
  const embed = 'language_model.model.embed_tokens.weight';
  const head = 'language_model.lm_head.weight';
  const untied = await TrainingSession.create(dir, { vision: true, trainable: [head], trainEmbedding: true, intraOpNumThreads: 1 });
  const tmp = await mkdtemp(join(tmpdir(), 'minivl-tied-'));
  try {
    const p = await initialParams(untied.graph.params, untied.checkpoint, 0);
    assert.equal(untied.graph.params.find((x) => x.name === embed)?.outsideGraph, true);
    // The head takes the embedding's values, so the untied model computes what a tied one does.
    p.set(head, p.get(embed)!.slice());
    const r = await untied.step(batch, p);
    const g = r.grads.get(embed)!;
    const used = new Set(Array.from(batch.inputIds));
    for (let row = 0; row < g.length / 64; row++) if (!used.has(row)) assert.ok(g.subarray(row * 64, row * 64 + 64).every((x) => x === 0), `row ${row} is not an input token`);
    const norm = Math.hypot(...g);
    const eps = 1e-2;
    const at = async (sign: number) => (await untied.step(batch, new Map([...p, [embed, p.get(embed)!.map((e, i) => e + (sign * eps * g[i]!) / norm)]]))).loss;
    const fd = ((await at(1)) - (await at(-1))) / (2 * eps);
    assert.ok(Math.abs(fd - norm) / norm < 1e-2, `finite difference ${fd} vs gradient norm ${norm}`);

    // The same model with the head removed and tie_word_embeddings on.
    const src = await SafetensorsFile.open(`${dir}/model.safetensors`);
    await writeSafetensors(join(tmp, 'model.safetensors'), await Promise.all(src.names().filter((n) => n !== head).map(async (n) => ({ name: n, dtype: src.info(n).dtype, shape: src.info(n).shape, data: await src.readBytes(n) }))));
    const cfg = JSON.parse(await readFile(`${dir}/config.json`, 'utf8'));
    cfg.llm_config.tie_word_embeddings = true;
    await writeFile(join(tmp, 'config.json'), JSON.stringify(cfg));
    const tied = await TrainingSession.create(tmp, { vision: true, trainable: [], trainEmbedding: true, intraOpNumThreads: 1 });
    try {
      const t = tied.graph.params.find((x) => x.name === embed)!;
      assert.deepEqual([t.tokenEmbedding, t.outsideGraph], [true, undefined]);
      const rt = await tied.step(batch, new Map([[embed, p.get(embed)!]]));
      assert.ok(Math.abs(rt.loss - r.loss) < 1e-6, `tied loss ${rt.loss} vs ${r.loss}`);
      const sum = r.grads.get(head)!.map((x, i) => x + g[i]!);
      assert.ok(relL2(rt.grads.get(embed)!, sum) < 1e-5, `tied gradient vs head + embedding: ${relL2(rt.grads.get(embed)!, sum)}`);
    } finally {
      await tied.release();
    }
  } finally {
    await untied.release();
    await rm(tmp, { recursive: true, force: true });
  }
});

const tmp = { path: '' };
let model: string;
let meta: string;
before(async () => {
  ({ dir: tmp.path, model, meta } = await writeFinetuneFixture('minivl-full-'));
});
after(() => rm(tmp.path, { recursive: true, force: true }));

test('full fine-tuning: the loss falls, the LLM + projector change and the ViT does not; a crashed run resumes to the same weights (bitwise)', async () => {
  const opts = { modelDir: model, metaFile: meta, mode: 'full' as const, lr: 2e-3, maxSteps: 6, saveSteps: 3, mergedDtype: 'F32' as const, threads: 1 };
  const whole = join(tmp.path, 'run-whole');
  const r = await finetune({ ...opts, outDir: whole });
  const log = readFileSync(join(whole, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss: number });
  assert.equal(log.length, 6);
  const mean = (xs: { loss: number }[]) => xs.reduce((a, b) => a + b.loss, 0) / xs.length;
  assert.ok(mean(log.slice(-2)) < mean(log.slice(0, 2)) - 0.1, `loss ${mean(log.slice(0, 2))} → ${mean(log.slice(-2))}`);
  assert.equal(JSON.parse(readFileSync(join(whole, 'run.json'), 'utf8')).dropPathRate, 0.1);
  const merged = await SafetensorsFile.open(join(r.mergedDir, 'model.safetensors'));
  const base = await SafetensorsFile.open(join(model, 'model.safetensors'));
  for (const n of ['language_model.model.embed_tokens.weight', 'language_model.lm_head.weight', 'language_model.model.layers.1.mlp.down_proj.weight', 'language_model.model.norm.weight', 'mlp1.1.weight']) {
    assert.ok(relL2(await merged.readFloat32(n), await base.readFloat32(n)) > 1e-6, `${n} did not change`);
  }
  assert.deepEqual(await merged.readBytes('vision_model.encoder.layers.1.mlp.fc1.weight'), await base.readBytes('vision_model.encoder.layers.1.mlp.fc1.weight'));
  assert.equal(r.adapterDir, null);

  // Crash right after step 5 (the checkpoint of step 3 is the latest), then resume.
  const broken = join(tmp.path, 'run-crashed');
  await assert.rejects(() => finetune({ ...opts, outDir: broken, progress: (p) => { if (p.step === 5) throw new Error('simulated crash'); } }), /simulated crash/);
  assert.equal(JSON.parse(readFileSync(join(broken, 'latest.json'), 'utf8')).step, 3);
  const ck = await SafetensorsFile.open(join(broken, 'checkpoint-3', 'optimizer.safetensors'));
  assert.ok(ck.has('m.language_model.model.embed_tokens.weight') && ck.has('v.mlp1.3.bias'));
  await finetune({ ...opts, outDir: broken, resume: true });
  assert.ok(readFileSync(join(whole, 'merged', 'model.safetensors')).equals(readFileSync(join(broken, 'merged', 'model.safetensors'))), 'merged checkpoints differ');
  const lossB = readFileSync(join(broken, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);
  assert.deepEqual(lossB, log.map((x) => x.loss));
});

test('full fine-tuning with --train-vision also trains InternViT', async () => {
  const r = await finetune({ modelDir: model, metaFile: meta, outDir: join(tmp.path, 'run-vit'), mode: 'full', trainVision: true, lr: 1e-3, maxSteps: 2, mergedDtype: 'F32', threads: 1 });
  const merged = await SafetensorsFile.open(join(r.mergedDir, 'model.safetensors'));
  const base = await SafetensorsFile.open(join(model, 'model.safetensors'));
  for (const n of ['vision_model.encoder.layers.1.mlp.fc1.weight', 'vision_model.embeddings.patch_embedding.weight', 'language_model.model.layers.0.self_attn.q_proj.weight']) {
    assert.ok(relL2(await merged.readFloat32(n), await base.readFloat32(n)) > 1e-7, `${n} did not change`);
  }
  await assert.rejects(() => finetune({ modelDir: model, metaFile: meta, outDir: join(tmp.path, 'run-bad'), mode: 'lora', trainVision: true }), /--train-vision needs --mode full/);
});

test('minivl finetune refuses bad full-mode flags in one line', () => {
  const base = ['finetune', '--model', model, '--meta', meta, '--out', join(tmp.path, 'run-cli')];
  const [a, b, c] = minivlBatch([[...base, '--mode', 'lora', '--train-vision'], [...base, '--mode', 'full', '--drop-path-rate', '1'], [...base, '--mode', 'fuller']]);
  for (const r of [a!, b!, c!]) assert.notEqual(r.status, 0);
  assert.equal(a!.stderr, 'minivl: error: --train-vision needs --mode full\n');
  assert.equal(b!.stderr, "minivl: error: --drop-path-rate must be in [0, 1), got '1'\n");
  assert.equal(c!.stderr, "minivl: error: --mode must be lora, mlp or full, got 'fuller'\n");
});
