// The training graph built from the inference graphs: LoRA attaches to exactly the family's target
// modules under PEFT's names, the in-graph image merge + full-sequence decoder reproduce the
// reference loss of golden.safetensors (3 tiles, 793 tokens), and a gradient through the whole
// composed graph agrees with a finite difference of that loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SafetensorsFile } from '../../src/io/safetensors.ts';
import { openModelCheckpoint } from '../../src/model/inventory.ts';
import { shapeOnlyWeights, checkpointWeights } from '../../src/model/weights.ts';
import { buildTrainingGraph } from '../../src/model/training.ts';
import { LLM_LORA_TARGETS, loraScaling, moduleOfPeftName, peftNames } from '../../src/model/lora.ts';
import { TrainingSession } from '../../src/runtime/training.ts';
import { GOLDEN } from '../helpers/paths.ts';

const PIXELS = `${GOLDEN}/preprocess/model_input_wide_1920x1080_max2.safetensors`;

test('PEFT parameter names of a module and back', () => {
  const n = peftNames('language_model.model.layers.0.self_attn.q_proj');
  assert.equal(n.a, 'language_model.base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight');
  assert.equal(n.b, 'language_model.base_model.model.model.layers.0.self_attn.q_proj.lora_B.default.weight');
  assert.deepEqual(moduleOfPeftName(n.b), { module: 'language_model.model.layers.0.self_attn.q_proj', part: 'B' });
  assert.equal(peftNames('vision_model.encoder.layers.3.attn.qkv').a, 'vision_model.base_model.model.encoder.layers.3.attn.qkv.lora_A.default.weight');
  assert.equal(moduleOfPeftName('mlp1.1.weight'), undefined);
  assert.equal(loraScaling({ rank: 16 }), 2);
  assert.equal(loraScaling({ rank: 4, alpha: 8 }), 2);
});

for (const family of ['qwen2', 'internlm2', 'phi3'] as const) {
  test(`${family}: LoRA wraps exactly the official target modules of every layer`, async () => {
    const { ckpt, cfg } = await openModelCheckpoint(`${GOLDEN}/models/${family}`);
    const tg = buildTrainingGraph(cfg, checkpointWeights(ckpt), { vision: false, trainable: [], llmLora: { rank: 4 } });
    const expected = Array.from({ length: cfg.llm.numLayers }, (_, i) => LLM_LORA_TARGETS[family].map((t) => `language_model.model.layers.${i}.${t}`)).flat().sort();
    assert.deepEqual(tg.loraModules.map((m) => m.module).sort(), expected);
    for (const m of tg.loraModules) {
      const w = ckpt.tensor(`${m.module}.weight`).shape;
      assert.deepEqual([m.outFeatures, m.inFeatures], w);
      assert.deepEqual(tg.params.find((p) => p.name === m.a)!.shape, [4, w[1]]);
      assert.deepEqual(tg.params.find((p) => p.name === m.b)!.shape, [w[0], 4]);
    }
  });
}

test('ViT LoRA wraps attn.qkv, attn.proj, mlp.fc1, mlp.fc2 of every InternViT layer', async () => {
  const { ckpt, cfg } = await openModelCheckpoint(`${GOLDEN}/models/qwen2`);
  const tg = buildTrainingGraph(cfg, shapeOnlyWeights(ckpt.names().map((n) => ({ name: n, shape: ckpt.tensor(n).shape }))), { vision: true, trainable: [], visionLora: { rank: 2 } });
  const modules = tg.loraModules.map((m) => m.module).sort();
  assert.equal(modules.length, cfg.vision.numLayers * 4);
  assert.ok(modules.includes('vision_model.encoder.layers.1.mlp.fc2'));
});

test('qwen2: the training graph reproduces the reference loss of golden.safetensors and a finite difference of it', async () => {
  const dir = `${GOLDEN}/models/qwen2`;
  const gold = await SafetensorsFile.open(`${dir}/golden.safetensors`);
  const pixelValues = await (await SafetensorsFile.open(PIXELS)).readFloat32('pixel_values');
  const ts = await TrainingSession.create(dir, { vision: true, trainable: ['mlp1.3.bias'] });
  try {
    const bias = await ts.checkpoint.readFloat32('mlp1.3.bias');
    const batch = { inputIds: await gold.readIntegers('input_ids'), labels: await gold.readIntegers('loss_labels'), pixelValues, imgContextId: 510 };
    const r = await ts.step(batch, new Map([['mlp1.3.bias', bias]]));
    assert.ok(Math.abs(r.loss - (await gold.readFloat32('loss'))[0]!) < 1e-4, `loss ${r.loss}`);
    assert.equal(r.supervised, 10);
    // Directional derivative along the gradient: (L(b + εu) − L(b − εu)) / 2ε = ‖∇L‖.
    const g = r.grads.get('mlp1.3.bias')!;
    const norm = Math.hypot(...g);
    const eps = 1e-2;
    const at = async (s: number) => (await ts.step(batch, new Map([['mlp1.3.bias', bias.map((b, i) => b + (s * eps * g[i]!) / norm)]]))).loss;
    const fd = ((await at(1)) - (await at(-1))) / (2 * eps);
    assert.ok(Math.abs(fd - norm) / norm < 1e-2, `finite difference ${fd} vs gradient norm ${norm}`);
  } finally {
    await ts.release();
  }
});
