import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GOLDEN, ROOT } from '../helpers/paths.ts';
import { loadModelConfig, parseModelConfig, type ModelConfig } from '../../src/model/config.ts';
import { tempDir, rejectsWith } from '../helpers/tmp.ts';

const FIXTURES = join(ROOT, 'test/fixtures/configs');
const fixture = (name: string): Record<string, any> => JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8'));
const parse = (json: unknown): ModelConfig => parseModelConfig(json, '/ckpt/config.json');
const fails = (json: unknown, ...re: RegExp[]) => rejectsWith(async () => parse(json), /^\/ckpt\/config\.json: /, ...re);

const VISION = {
  hiddenSize: 1024, numLayers: 24, numHeads: 16, headDim: 64, intermediateSize: 4096, patchSize: 14, imageSize: 448,
  numChannels: 3, layerNormEps: 1e-6, qkvBias: true, qkNormalization: false, normType: 'layer_norm', hiddenAct: 'gelu',
};

test('InternVL2-1B config: spec §2, §3.1, §8.1, §11 values', () => {
  const c = parse(fixture('internvl2-1b'));
  assert.deepEqual(
    { t: c.template, r: c.downsampleRatio, ps: c.psVersion, sl: c.selectLayer, f: c.forceImageSize, i: c.imageSize, n: c.numImageToken,
      d: c.dynamicImageSize, th: c.useThumbnail, mn: c.minDynamicPatch, mx: c.maxDynamicPatch },
    { t: 'Hermes-2', r: 0.5, ps: 'v2', sl: -1, f: 448, i: 448, n: 256, d: true, th: true, mn: 1, mx: 12 },
  );
  assert.deepEqual(c.vision, VISION);
  assert.deepEqual(c.llm, {
    family: 'qwen2', architecture: 'Qwen2ForCausalLM', hiddenSize: 896, numLayers: 24, numHeads: 14, numKvHeads: 2, headDim: 64,
    intermediateSize: 4864, vocabSize: 151655, maxPositionEmbeddings: 32768, rmsNormEps: 1e-6, ropeTheta: 1e6,
    ropeScaling: { type: 'none' }, tieWordEmbeddings: true, bosTokenId: 151643, eosTokenId: 151645, padTokenId: null,
    hiddenAct: 'silu', qkvBias: true, oBias: false, slidingWindow: 32768, useSlidingWindow: false,
  });
});

test('InternVL2-2B and Mini-InternVL-Chat-2B-V1-5 configs: InternLM2 values', () => {
  for (const name of ['internvl2-2b', 'mini-internvl-chat-2b-v1-5']) {
    const c = parse(fixture(name));
    assert.equal(c.template, 'internlm2-chat');
    assert.equal(c.psVersion, 'v2');
    assert.deepEqual(c.vision, VISION);
    assert.deepEqual(c.llm, {
      family: 'internlm2', architecture: 'InternLM2ForCausalLM', hiddenSize: 2048, numLayers: 24, numHeads: 16, numKvHeads: 8,
      headDim: 128, intermediateSize: 8192, vocabSize: 92553, maxPositionEmbeddings: 32768, rmsNormEps: 1e-5, ropeTheta: 1e6,
      ropeScaling: { type: 'dynamic', factor: 2 }, tieWordEmbeddings: false, bosTokenId: 1, eosTokenId: 2, padTokenId: 2,
      hiddenAct: 'silu', qkvBias: false, oBias: false, slidingWindow: null, useSlidingWindow: false,
    });
  }
});

test('InternVL2-4B and Mini-InternVL-Chat-4B-V1-5 configs: Phi-3 values with su rope', () => {
  for (const name of ['internvl2-4b', 'mini-internvl-chat-4b-v1-5']) {
    const c = parse(fixture(name));
    assert.equal(c.template, 'phi3-chat');
    assert.deepEqual(c.vision, VISION);
    const { ropeScaling, ...rest } = c.llm;
    assert.deepEqual(rest, {
      family: 'phi3', architecture: 'Phi3ForCausalLM', hiddenSize: 3072, numLayers: 32, numHeads: 32, numKvHeads: 32, headDim: 96,
      intermediateSize: 8192, vocabSize: 32020, maxPositionEmbeddings: 131072, rmsNormEps: 1e-5, ropeTheta: 10000,
      tieWordEmbeddings: false, bosTokenId: 1, eosTokenId: 32000, padTokenId: 32000, hiddenAct: 'silu', qkvBias: false,
      oBias: false, slidingWindow: 262144, useSlidingWindow: false,
    });
    assert.equal(ropeScaling.type, 'longrope');
    if (ropeScaling.type !== 'longrope') return;
    assert.equal(ropeScaling.rawType, 'su');
    assert.equal(ropeScaling.originalMaxPositionEmbeddings, 4096);
    assert.equal(ropeScaling.shortFactor.length, 48);
    assert.equal(ropeScaling.longFactor.length, 48);
    assert.equal(ropeScaling.shortFactor[5], 1.1500000000000001);
    assert.equal(ropeScaling.longFactor[47], 64.81001281738281);
    assert.equal(ropeScaling.shortMscale, null);
  }
});

test('golden tiny configs parse (Phi-3 original_max_position_embeddings 256, Qwen2 bos null)', async () => {
  const q = await loadModelConfig(join(GOLDEN, 'models/qwen2'));
  assert.equal(q.source, join(GOLDEN, 'models/qwen2/config.json'));
  assert.equal(q.llm.bosTokenId, null);
  assert.equal(q.llm.eosTokenId, 511);
  assert.equal(q.llm.tieWordEmbeddings, false);
  assert.deepEqual([q.vision.hiddenSize, q.vision.numLayers, q.llm.hiddenSize, q.llm.numKvHeads, q.llm.vocabSize], [64, 2, 64, 2, 512]);
  const i = await loadModelConfig(join(GOLDEN, 'models/internlm2'));
  assert.deepEqual(i.llm.ropeScaling, { type: 'dynamic', factor: 2 });
  const p = await loadModelConfig(join(GOLDEN, 'models/phi3'));
  assert.equal(p.llm.maxPositionEmbeddings, 4096);
  assert.deepEqual(p.llm.ropeScaling, {
    type: 'longrope', rawType: 'su', originalMaxPositionEmbeddings: 256, shortMscale: null, longMscale: null,
    shortFactor: [1.6251, 1.8972, 1.7757, 1.2252, 1.3002, 1.8736, 1.0053, 1.8212],
    longFactor: [4.1883, 2.8717, 2.2121, 2.1137, 2.0195, 2.7803, 3.0182, 3.214],
  });
  for (const c of [q, i, p]) assert.equal(c.numImageToken, 256);
});

test('missing top-level keys get the InternVLChatConfig defaults', () => {
  const j = fixture('internvl2-2b');
  for (const k of ['select_layer', 'downsample_ratio', 'ps_version', 'use_thumbnail', 'dynamic_image_size', 'min_dynamic_patch',
    'max_dynamic_patch', 'force_image_size', 'pad2square', 'use_backbone_lora', 'use_llm_lora']) delete j[k];
  j.vision_config.image_size = 224;
  const c = parse(j);
  assert.deepEqual(
    { sl: c.selectLayer, r: c.downsampleRatio, ps: c.psVersion, th: c.useThumbnail, d: c.dynamicImageSize, mn: c.minDynamicPatch,
      mx: c.maxDynamicPatch, f: c.forceImageSize, i: c.imageSize, n: c.numImageToken, p2: c.pad2square, bl: c.useBackboneLora },
    { sl: -1, r: 0.5, ps: 'v1', th: false, d: false, mn: 1, mx: 6, f: null, i: 224, n: 64, p2: false, bl: 0 },
  );
});

test('missing non-structural keys get the family config-class defaults', () => {
  const j = fixture('internvl2-4b');
  for (const k of ['num_key_value_heads', 'rms_norm_eps', 'rope_theta', 'original_max_position_embeddings', 'bos_token_id',
    'eos_token_id', 'pad_token_id', 'tie_word_embeddings', 'sliding_window']) delete j.llm_config[k];
  for (const k of ['qkv_bias', 'qk_normalization', 'norm_type', 'num_channels', 'layer_norm_eps']) delete j.vision_config[k];
  const c = parse(j);
  assert.equal(c.llm.numKvHeads, 32);
  assert.equal(c.llm.rmsNormEps, 1e-5);
  assert.equal(c.llm.ropeTheta, 10000);
  assert.equal(c.llm.ropeScaling.type === 'longrope' && c.llm.ropeScaling.originalMaxPositionEmbeddings, 4096);
  assert.deepEqual([c.llm.bosTokenId, c.llm.eosTokenId, c.llm.padTokenId, c.llm.tieWordEmbeddings, c.llm.slidingWindow], [1, 32000, 32000, false, null]);
  // InternVisionConfig defaults are those of InternViT-6B: no qkv bias, qk-norm, RMSNorm.
  assert.deepEqual([c.vision.qkvBias, c.vision.qkNormalization, c.vision.normType, c.vision.numChannels, c.vision.layerNormEps],
    [false, true, 'rms_norm', 3, 1e-6]);
  const i = fixture('internvl2-2b');
  delete i.llm_config.bias;
  assert.equal(parse(i).llm.qkvBias, true, 'InternLM2Config bias defaults to true');
});

test('eos_token_id may be a list; rope_type is accepted for type', () => {
  const j = fixture('internvl2-4b');
  j.llm_config.eos_token_id = [32000, 32007];
  j.llm_config.rope_scaling = { ...j.llm_config.rope_scaling, rope_type: 'longrope', short_mscale: 1.1, long_mscale: 1.2 };
  delete j.llm_config.rope_scaling.type;
  const c = parse(j);
  assert.deepEqual(c.llm.eosTokenId, [32000, 32007]);
  assert.equal(c.llm.ropeScaling.type === 'longrope' && c.llm.ropeScaling.rawType, 'longrope');
  assert.equal(c.llm.ropeScaling.type === 'longrope' && c.llm.ropeScaling.longMscale, 1.2);
});

test('unknown LLM architecture: names config.json, the value and the supported ones', async () => {
  const j = fixture('internvl2-1b');
  j.llm_config.architectures = ['LlamaForCausalLM'];
  await fails(j, /"LlamaForCausalLM"/, /supported: Qwen2ForCausalLM, InternLM2ForCausalLM, Phi3ForCausalLM/);
  j.llm_config.architectures = [];
  await fails(j, /"llm_config\.architectures" must be a non-empty list/);
});

test('missing required keys and wrong types name the key', async () => {
  const cases: [(j: Record<string, any>) => void, RegExp][] = [
    [(j) => delete j.llm_config.hidden_size, /missing required key "llm_config\.hidden_size"/],
    [(j) => delete j.vision_config.num_hidden_layers, /missing required key "vision_config\.num_hidden_layers"/],
    [(j) => delete j.vision_config, /missing required key "vision_config"/],
    [(j) => delete j.template, /missing required key "template"/],
    [(j) => (j.llm_config = 'qwen2'), /"llm_config" must be an object/],
    [(j) => (j.downsample_ratio = '0.5'), /"downsample_ratio" must be a number, got "0\.5"/],
    [(j) => (j.ps_version = 'v3'), /"ps_version" must be one of "v1", "v2", got "v3"/],
    [(j) => (j.use_thumbnail = 'yes'), /"use_thumbnail" must be true or false/],
    [(j) => (j.llm_config.num_hidden_layers = 2.5), /"llm_config\.num_hidden_layers" must be an integer/],
    [(j) => (j.llm_config.vocab_size = 0), /"llm_config\.vocab_size" must be a positive integer/],
    [(j) => (j.llm_config.eos_token_id = 'x'), /"llm_config\.eos_token_id" must be an integer or a list of integers/],
    [(j) => (j.llm_config.num_key_value_heads = 3), /"llm_config\.num_attention_heads" 14 is not a multiple of num_key_value_heads 3/],
    [(j) => (j.vision_config.num_attention_heads = 5), /"vision_config\.hidden_size" 1024 is not divisible by num_attention_heads 5/],
    [(j) => (j.force_image_size = 450), /"force_image_size" 450 is not a multiple of vision_config\.patch_size 14/],
    [(j) => (j.downsample_ratio = 0.3), /"downsample_ratio" 0\.3 does not divide the 32×32 patch grid/],
    [(j) => (j.select_layer = 30), /"select_layer" 30 is outside/],
    [(j) => (j.max_dynamic_patch = 0), /"max_dynamic_patch" must be a positive integer/],
    [(j) => (j.llm_config.rope_scaling = { type: 'yarn', factor: 2 }), /"llm_config\.rope_scaling\.type" "yarn" is not supported for qwen2 \(supported: none\)/],
  ];
  for (const [edit, re] of cases) {
    const j = fixture('internvl2-1b');
    edit(j);
    await fails(j, re);
  }
  await fails(null, /config must be a JSON object/);
});

test('rope_scaling is validated per family', async () => {
  const p = fixture('internvl2-4b');
  p.llm_config.rope_scaling.short_factor = p.llm_config.rope_scaling.short_factor.slice(1);
  await fails(p, /"llm_config\.rope_scaling\.short_factor" has 47 values, expected head_dim\/2 = 48/);
  const y = fixture('internvl2-4b');
  y.llm_config.rope_scaling = { type: 'yarn', factor: 4 };
  await fails(y, /"yarn" is not supported for phi3 \(supported: "su", "longrope"\)/);
  const n = fixture('internvl2-4b');
  delete n.llm_config.rope_scaling.long_factor;
  await fails(n, /missing required key "llm_config\.rope_scaling\.long_factor"/);
  const i = fixture('internvl2-2b');
  i.llm_config.rope_scaling = { type: 'linear', factor: 0.5 };
  await fails(i, /"llm_config\.rope_scaling\.factor" must be ≥ 1/);
  i.llm_config.rope_scaling = { type: 'linear', factor: 4 };
  assert.deepEqual(parse(i).llm.ropeScaling, { type: 'linear', factor: 4 });
  i.llm_config.rope_scaling = { type: 'su', short_factor: [], long_factor: [] };
  await fails(i, /"su" is not supported for internlm2 \(supported: "dynamic", "linear"\)/);
});

test('loadModelConfig: missing or invalid config.json is a one-line error naming it', async () => {
  const dir = await tempDir();
  await rejectsWith(loadModelConfig(dir), new RegExp(`${dir}/config\\.json: missing`));
  await writeFile(join(dir, 'config.json'), '{"template": ');
  await rejectsWith(loadModelConfig(dir), /config\.json: invalid JSON/);
});

test('a config of another model (top-level architectures / model_type) is refused with one line', async () => {
  const j = fixture('internvl2-1b');
  j.architectures = ['LlavaForConditionalGeneration'];
  await fails(j, /unsupported architecture "architectures\[0\]" = "LlavaForConditionalGeneration" \(supported: InternVLChatModel\)/);
  const k = fixture('internvl2-1b');
  k.model_type = 'llava';
  await fails(k, /unsupported "model_type" "llava" \(supported: internvl_chat\)/);
  const bare = fixture('internvl2-1b');
  delete bare.architectures;
  delete bare.model_type;
  assert.equal(parse(bare).llm.family, 'qwen2');
});
