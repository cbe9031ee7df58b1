// Activation recomputation (src/model/recompute.ts): the training graph with `recompute` gives the
// same loss and gradients as the plain one (golden/README.md tolerances against lora_golden, and
// 1e-6 relative L2 / 1e-6 absolute between the two graphs), for LoRA + projector on the three golden
// families and for full mode with the ViT trained; and the copies are really in the graph.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SafetensorsFile } from '../../src/io/safetensors.ts';
import { TrainingSession, type StepResult } from '../../src/runtime/training.ts';
import { initialParams } from '../../src/adapt/train/params.ts';
import { fullModeTrainable } from '../../src/adapt/train/full.ts';
import { dropPathMasks } from '../../src/adapt/train/drop-path.ts';
import { relL2 } from '../../src/runtime/metrics.ts';
import { layerCuts, RECOMPUTE_PREFIX } from '../../src/model/recompute.ts';
import { LORA_TOLERANCES } from '../../src/runtime/lora-parity.ts';
import { GOLDEN } from '../helpers/paths.ts';
import { openModelCheckpoint, outputWeightName } from '../../src/model/inventory.ts';
import { checkpointWeights } from '../../src/model/weights.ts';
import { buildTrainingGraph } from '../../src/model/training.ts';
import { ModelProto } from '../../src/graph/onnx-proto.ts';
import { ort } from '../../src/runtime/session.ts';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { writeRandomCheckpoint } from '../../src/dev/random-checkpoint.ts';
import { writeFinetuneData } from '../adapt/train/fixture.ts';
import { minivlBatch } from '../helpers/cli.ts';

const PIXELS = `${GOLDEN}/preprocess/model_input_wide_1920x1080_max2.safetensors`;
const SAME = 1e-6;

async function goldenInputs(family: string) {
  const dir = `${GOLDEN}/models/${family}`;
  const gold = await SafetensorsFile.open(`${dir}/lora_golden.safetensors`);
  const meta = JSON.parse(await readFile(`${dir}/meta.json`, 'utf8')) as { img_context_id: number };
  const pv = await (await SafetensorsFile.open(PIXELS)).readFloat32('pixel_values');
  const batch = { inputIds: await gold.readIntegers('input_ids'), labels: await gold.readIntegers('labels'), pixelValues: pv.subarray(0, 3 * 448 * 448), imgContextId: meta.img_context_id };
  return { dir, gold, batch };
}

function assertSame(a: StepResult, b: StepResult): void {
  assert.ok(Math.abs(a.loss - b.loss) <= SAME, `loss ${a.loss} vs ${b.loss}`);
  assert.deepEqual([...b.grads.keys()].sort(), [...a.grads.keys()].sort());
  for (const [name, g] of a.grads) {
    const e = relL2(b.grads.get(name)!, g);
    assert.ok(e <= SAME, `${name}: rel L2 ${e} between plain and recomputed`);
  }
}

for (const family of ['qwen2', 'internlm2', 'phi3']) {
  test(`${family}: LoRA + projector with recompute equals the plain graph and lora_golden`, async () => {
    const { dir, gold, batch } = await goldenInputs(family);
    const params = new Map<string, Float32Array>();
    for (const n of gold.names()) if (n.startsWith('param.')) params.set(n.slice('param.'.length), await gold.readFloat32(n));
    const opts = { vision: true, trainable: (n: string) => n.startsWith('mlp1.'), llmLora: { rank: 4, alpha: 8 }, intraOpNumThreads: 1 };
    const plain = await TrainingSession.create(dir, opts);
    const recomputed = await TrainingSession.create(dir, { ...opts, recompute: true });
    try {
      const copies = recomputed.graph.graph.listNodes().filter((n) => n.outputs[0]!.startsWith(RECOMPUTE_PREFIX)).length;
      assert.ok(copies > 0, 'the recompute graph has copied nodes');
      assert.equal(plain.graph.graph.listNodes().filter((n) => n.outputs[0]!.startsWith(RECOMPUTE_PREFIX)).length, 0);
      const a = await plain.step(batch, params);
      const b = await recomputed.step(batch, params);
      assertSame(a, b);
      const goldLoss = (await gold.readFloat32('loss'))[0]!;
      assert.ok(Math.abs(b.loss - goldLoss) < LORA_TOLERANCES.lora_loss_abs_err, `loss ${b.loss} vs golden ${goldLoss}`);
      for (const [name, g] of b.grads) {
        const e = relL2(g, await gold.readFloat32(`grad.${name}`));
        assert.ok(e < LORA_TOLERANCES.lora_grad_max_rel_l2, `${name}: rel L2 ${e} vs golden`);
      }
    } finally {
      await plain.release();
      await recomputed.release();
    }
  });
}

test('qwen2: full mode with the ViT trained and drop path, with recompute, equals the plain graph', async () => {
  const { dir, batch: plainBatch } = await goldenInputs('qwen2');
  const opts = { vision: true, trainable: fullModeTrainable(true), trainEmbedding: true, dropPathRate: 0.3, intraOpNumThreads: 1 };
  const plain = await TrainingSession.create(dir, opts);
  const recomputed = await TrainingSession.create(dir, { ...opts, recompute: true });
  try {
    const values = await initialParams(plain.graph.params, plain.checkpoint, 0);
    // Seed 1, micro-batch 0 drops some branches (the masks are graph inputs the copies read too).
    const masks = dropPathMasks(plain.graph.dropPath, 1, 1, 0);
    assert.ok([...masks.values()].some((m) => m[0] === 0), 'some branch is dropped');
    const batch = { ...plainBatch, masks };
    // One cut per ViT layer and per decoder layer.
    const { vision, llm } = plain.config;
    assert.equal(layerCuts(recomputed.graph.graph, recomputed.graph.graph.listNodes()).length, vision.numLayers + llm.numLayers);
    assertSame(await plain.step(batch, values), await recomputed.step(batch, values));
  } finally {
    await plain.release();
    await recomputed.release();
  }
});

test('qwen2: the copies survive ONNX Runtime\'s graph optimizations (no merge with the forward)', async () => {
  const dir = `${GOLDEN}/models/qwen2`;
  const { ckpt, cfg } = await openModelCheckpoint(dir);
  const src = checkpointWeights(ckpt);
  const tg = buildTrainingGraph(cfg, src, { vision: true, trainable: ckpt.names().filter((n) => n.startsWith('mlp1.')), llmLora: { rank: 4, alpha: 8 }, lmHead: outputWeightName(ckpt, cfg), recompute: true });
  const built = tg.graph.listNodes().filter((n) => n.outputs[0]!.startsWith(RECOMPUTE_PREFIX));
  const tmp = await mkdtemp(join(tmpdir(), 'minivl-recompute-'));
  try {
    const out = join(tmp, 'optimized.onnx');
    const opts = { graphOptimizationLevel: 'all', optimizedModelFilePath: out, logSeverityLevel: 3, extra: { session: { model_external_initializers_file_folder_path: src.externalFolder!, disable_prepacking: '1' } } } as const;
    await (await ort.InferenceSession.create(tg.graph.toBytes(), opts)).release();
    const m = ModelProto.toObject(ModelProto.decode(await readFile(out))) as { graph: { node: { output: string[]; opType: string }[] } };
    const kept = m.graph.node.filter((n) => n.output.some((o) => o.startsWith(RECOMPUTE_PREFIX)));
    // Some Reshape/Identity plumbing may be fused away; the compute of the copied layer must remain.
    const compute = (ns: { opType: string }[]) => ns.filter((n) => ['FusedMatMul', 'MatMul', 'RMSNormalization', 'Softmax', 'RotaryEmbedding'].includes(n.opType)).length;
    assert.ok(compute(built) > 10);
    assert.equal(compute(kept), compute(built));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test('minivl finetune --recompute trains to the same adapter bytes as without it', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'minivl-recompute-cli-'));
  try {
    const model = join(tmp, 'tiny-1b');
    await writeRandomCheckpoint({ like: 'internvl2-1b', tiny: true, out: model });
    const meta = await writeFinetuneData(join(tmp, 'data'));
    const run = (out: string, extra: string[]) => ['finetune', '--model', model, '--meta', meta, '--mode', 'lora', '--lr', '1e-3', '--max-steps', '3', '--threads', '1', '--out', join(tmp, out), ...extra];
    const [plain, recomputed] = minivlBatch([run('plain', []), run('recomputed', ['--recompute'])]);
    assert.equal(plain!.status, 0, plain!.stderr);
    assert.equal(recomputed!.status, 0, recomputed!.stderr);
    const adapter = (out: string) => readFileSync(join(tmp, out, 'adapter', 'adapter_model.safetensors'));
    assert.ok(adapter('plain').equals(adapter('recomputed')), 'adapters differ');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
