import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GOLDEN, ROOT } from '../helpers/paths.ts';
import { parseModelConfig, loadModelConfig, type ModelConfig } from '../../src/model/config.ts';
import {
  expectedTensors, parameterCount, validateCheckpoint, openModelCheckpoint, outputWeightName, embedTokensName, lmHeadName,
} from '../../src/model/inventory.ts';
import { openCheckpoint } from '../../src/io/checkpoint.ts';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../src/io/safetensors.ts';
import { tempDir, rejectsWith } from '../helpers/tmp.ts';
import { editedQwen2 } from './edited-checkpoint.ts';

const fixture = (name: string): ModelConfig => {
  const p = join(ROOT, 'test/fixtures/configs', `${name}.json`);
  return parseModelConfig(JSON.parse(readFileSync(p, 'utf8')), p);
};
const shapeOf = (cfg: ModelConfig, name: string) => expectedTensors(cfg).find((t) => t.name === name)?.shape;

test('parameter counts equal the spec §10 inventory totals exactly', () => {
  const VISION = 304_012_288;
  const expected = {
    'internvl2-1b': { projector: 4_482_816, llm: 629_663_872, total: 938_158_976, tensors: 637 },
    'internvl2-2b': { projector: 12_595_200, llm: 1_889_146_880, total: 2_205_754_368, tensors: 517 },
    'mini-internvl-chat-2b-v1-5': { projector: 12_595_200, llm: 1_889_146_880, total: 2_205_754_368, tensors: 517 },
    'internvl2-4b': { projector: 22_034_432, llm: 3_820_809_216, total: 4_146_855_936, tensors: 541 },
    'mini-internvl-chat-4b-v1-5': { projector: 22_034_432, llm: 3_820_809_216, total: 4_146_855_936, tensors: 541 },
  };
  for (const [name, want] of Object.entries(expected)) {
    assert.deepEqual(parameterCount(fixture(name)), { vision: VISION, ...want }, name);
  }
  // §10.6 tensor bytes (bf16) for the 4B: 8,293,711,872.
  assert.equal(parameterCount(fixture('internvl2-4b')).total * 2, 8_293_711_872);
});

test('inventory shapes and names follow spec §10 for each family', () => {
  const b1 = fixture('internvl2-1b');
  const b2 = fixture('internvl2-2b');
  const b4 = fixture('internvl2-4b');
  const cases: [ModelConfig, string, number[]][] = [
    [b1, 'vision_model.embeddings.class_embedding', [1, 1, 1024]],
    [b1, 'vision_model.embeddings.patch_embedding.weight', [1024, 3, 14, 14]],
    [b1, 'vision_model.embeddings.position_embedding', [1, 1025, 1024]],
    [b1, 'vision_model.encoder.layers.23.attn.qkv.weight', [3072, 1024]],
    [b1, 'vision_model.encoder.layers.23.mlp.fc2.weight', [1024, 4096]],
    [b1, 'vision_model.encoder.layers.0.ls2', [1024]],
    [b1, 'mlp1.0.weight', [4096]],
    [b1, 'mlp1.1.weight', [896, 4096]],
    [b1, 'mlp1.3.weight', [896, 896]],
    [b1, 'language_model.model.embed_tokens.weight', [151655, 896]],
    [b1, 'language_model.model.layers.0.self_attn.k_proj.weight', [128, 896]],
    [b1, 'language_model.model.layers.23.self_attn.v_proj.bias', [128]],
    [b1, 'language_model.model.layers.0.mlp.down_proj.weight', [896, 4864]],
    [b1, 'language_model.lm_head.weight', [151655, 896]],
    [b2, 'language_model.model.tok_embeddings.weight', [92553, 2048]],
    [b2, 'language_model.model.layers.0.attention.wqkv.weight', [4096, 2048]],
    [b2, 'language_model.model.layers.23.feed_forward.w2.weight', [2048, 8192]],
    [b2, 'language_model.output.weight', [92553, 2048]],
    [b2, 'mlp1.1.weight', [2048, 4096]],
    [b4, 'language_model.model.layers.31.self_attn.qkv_proj.weight', [9216, 3072]],
    [b4, 'language_model.model.layers.0.mlp.gate_up_proj.weight', [16384, 3072]],
    [b4, 'language_model.model.layers.0.mlp.down_proj.weight', [3072, 8192]],
    [b4, 'language_model.lm_head.weight', [32020, 3072]],
    [b4, 'mlp1.3.weight', [3072, 3072]],
  ];
  for (const [cfg, name, shape] of cases) assert.deepEqual(shapeOf(cfg, name), shape, name);
  // No tensors the spec says do not exist.
  for (const cfg of [b1, b2, b4]) {
    const names = expectedTensors(cfg).map((t) => t.name);
    assert.equal(new Set(names).size, names.length, 'names are unique');
    assert.ok(!names.some((n) => /q_norm|k_norm|o_proj\.bias|wo\.bias|wqkv\.bias|inv_freq|post_layernorm/.test(n)));
  }
  // The 1B JSON says tie_word_embeddings true: lm_head is listed (it is stored) with a tied fallback.
  const head = expectedTensors(b1).find((t) => t.name === 'language_model.lm_head.weight');
  assert.equal(head?.tiedTo, 'language_model.model.embed_tokens.weight');
  assert.equal(expectedTensors(b4).find((t) => t.name === lmHeadName(b4.llm))?.tiedTo, undefined);
});

test('the golden tiny checkpoints validate and hold exactly the expected tensors', async () => {
  for (const fam of ['qwen2', 'internlm2', 'phi3']) {
    const dir = join(GOLDEN, 'models', fam);
    const { ckpt, cfg, report } = await openModelCheckpoint(dir);
    assert.deepEqual(report, { unexpected: [], lmHeadFromEmbedding: false });
    const expected = expectedTensors(cfg);
    assert.deepEqual(new Set(expected.map((t) => t.name)), new Set(ckpt.names()), fam);
    for (const t of expected) assert.deepEqual(ckpt.tensor(t.name).shape, t.shape, t.name);
    assert.equal(outputWeightName(ckpt, cfg), lmHeadName(cfg.llm));
  }
});

test('wrong shape: one line naming the file, the tensor, expected and actual shape', async () => {
  const dir = await editedQwen2((ts) => {
    const t = ts.find((x) => x.name === 'mlp1.1.weight')!;
    t.shape = [256, 64]; // same byte count as the real [64, 256]
  });
  await rejectsWith(openModelCheckpoint(dir), new RegExp(`${dir}/model\\.safetensors: tensor 'mlp1\\.1\\.weight' has shape \\[256, 64\\], expected \\[64, 256\\]`));
});

test('missing tensor: one line naming the file and the tensor with its expected shape', async () => {
  const dir = await editedQwen2((ts) => {
    ts.splice(ts.findIndex((x) => x.name === 'language_model.model.layers.1.self_attn.k_proj.bias'), 1);
  });
  await rejectsWith(openModelCheckpoint(dir), /model\.safetensors: missing tensor 'language_model\.model\.layers\.1\.self_attn\.k_proj\.bias' \(expected shape \[32\]/);
});

test('a config that disagrees with the weights is caught (vocab size)', async () => {
  const dir = await editedQwen2((_ts, cfg) => { cfg.llm_config.vocab_size = 513; });
  await rejectsWith(openModelCheckpoint(dir), /tensor 'language_model\.model\.embed_tokens\.weight' has shape \[512, 64\], expected \[513, 64\]/);
});

test('non-float dtype is rejected', async () => {
  const dir = await editedQwen2((ts) => {
    const t = ts.find((x) => x.name === 'mlp1.0.weight')!;
    t.dtype = 'I16'; // same byte size as BF16
  });
  await rejectsWith(openModelCheckpoint(dir), /tensor 'mlp1\.0\.weight' has dtype I16, expected a float dtype/);
});

test('tied embeddings: a missing lm_head falls back to the input embedding; extra tensors are reported', async () => {
  const dir = await editedQwen2((ts, cfg) => {
    ts.splice(ts.findIndex((x) => x.name === 'language_model.lm_head.weight'), 1);
    ts.push({ name: 'extra.thing', dtype: 'F32', shape: [2], data: [1, 2] });
    cfg.llm_config.tie_word_embeddings = true;
  });
  const { ckpt, cfg, report } = await openModelCheckpoint(dir);
  assert.deepEqual(report, { unexpected: ['extra.thing'], lmHeadFromEmbedding: true });
  assert.equal(outputWeightName(ckpt, cfg), embedTokensName(cfg.llm));
  // Untied, the same checkpoint is incomplete.
  const untied = { ...cfg, llm: { ...cfg.llm, tieWordEmbeddings: false } };
  await rejectsWith(async () => validateCheckpoint(ckpt, untied), /missing tensor 'language_model\.lm_head\.weight'/);
  await rejectsWith(async () => outputWeightName(ckpt, untied), /no tensor 'language_model\.lm_head\.weight' and tie_word_embeddings is false/);
});

test('sharded checkpoints name the index file for a missing tensor', async () => {
  const src = join(GOLDEN, 'models/phi3');
  const dir = await tempDir();
  const f = await SafetensorsFile.open(join(src, 'model.safetensors'));
  const ts: TensorToWrite[] = [];
  const weightMap: Record<string, string> = {};
  for (const n of f.names()) {
    if (n === 'language_model.model.norm.weight') continue;
    const i = f.info(n);
    ts.push({ name: n, dtype: i.dtype, shape: i.shape, data: await f.readBytes(n) });
    weightMap[n] = 'model-00001-of-00001.safetensors';
  }
  await writeSafetensors(join(dir, 'model-00001-of-00001.safetensors'), ts);
  await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  await copyFile(join(src, 'config.json'), join(dir, 'config.json'));
  const ckpt = await openCheckpoint(dir);
  const cfg = await loadModelConfig(dir);
  await rejectsWith(async () => validateCheckpoint(ckpt, cfg), /model\.safetensors\.index\.json: missing tensor 'language_model\.model\.norm\.weight'/);
});

test('vision variants: rms_norm has no bias, qk_normalization adds q_norm/k_norm, no qkv_bias drops the bias', () => {
  const p = join(ROOT, 'test/fixtures/configs/internvl2-1b.json');
  const j = JSON.parse(readFileSync(p, 'utf8'));
  Object.assign(j.vision_config, { norm_type: 'rms_norm', qk_normalization: true, qkv_bias: false });
  const names = new Set(expectedTensors(parseModelConfig(j, p)).map((t) => t.name));
  assert.ok(names.has('vision_model.encoder.layers.0.norm1.weight'));
  assert.ok(!names.has('vision_model.encoder.layers.0.norm1.bias'));
  assert.ok(names.has('vision_model.encoder.layers.0.attn.q_norm.weight'));
  assert.ok(names.has('vision_model.encoder.layers.0.attn.k_norm.weight'));
  assert.ok(!names.has('vision_model.encoder.layers.0.attn.qkv.bias'));
  const i = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/configs/internvl2-2b.json'), 'utf8'));
  i.llm_config.bias = true;
  const c = parseModelConfig(i, 'x');
  assert.deepEqual(shapeOf(c, 'language_model.model.layers.0.attention.wqkv.bias'), [4096]);
  assert.deepEqual(shapeOf(c, 'language_model.model.layers.0.attention.wo.bias'), [2048]);
});

test('outputDiffersFromEmbedding compares lm_head with the input embedding (spec checkpoints §4.5)', async () => {
  const { outputDiffersFromEmbedding } = await import('../../src/model/inventory.ts');
  const { ckpt, cfg } = await openModelCheckpoint(join(GOLDEN, 'models/qwen2'));
  assert.equal(await outputDiffersFromEmbedding(ckpt, cfg), true, 'the golden Qwen2 lm_head differs from embed_tokens');
  const dir = await editedQwen2((ts) => {
    ts.find((x) => x.name === 'language_model.lm_head.weight')!.data = ts.find((x) => x.name === 'language_model.model.embed_tokens.weight')!.data;
  });
  const same = await openModelCheckpoint(dir);
  assert.equal(await outputDiffersFromEmbedding(same.ckpt, same.cfg), false);
});

test('unmerged LoRA checkpoints get a clear error instead of a missing-tensor one', async () => {
  const dir = await editedQwen2((ts, cfg) => {
    const q = ts.find((x) => x.name === 'language_model.model.layers.0.self_attn.q_proj.weight')!;
    q.name = 'language_model.base_model.model.model.layers.0.self_attn.q_proj.base_layer.weight';
    cfg.use_llm_lora = 16;
  });
  await rejectsWith(openModelCheckpoint(dir), /model\.safetensors: holds unmerged LoRA weights \(e\.g\. 'language_model\.base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.base_layer\.weight'; use_llm_lora 16/, /merge the adapters/);
});
