// The same graphs on ONNX Runtime's WebGPU provider (in CI: Mesa's software Vulkan, lavapipe, from
// bookworm-backports; .ci/run installs it): golden parity with the float32 tolerances, the graph
// rewrite that keeps every matrix product on the GPU, and the CPU fallback without an adapter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { GraphBuilder, float } from '../../src/graph/builder.ts';
import { runParity, TOLERANCES } from '../../src/runtime/parity.ts';
import { probeWebGpu, resolveDevice } from '../../src/runtime/device.ts';
import { lowerForWebGpu } from '../../src/runtime/webgpu-graph.ts';
import { createSession, ort } from '../../src/runtime/session.ts';
import { Model } from '../../src/runtime/model.ts';
import { DecodeState } from '../../src/runtime/decode.ts';
import { GpuKVDecoder } from '../../src/runtime/gpu-kv-decoder.ts';
import { syntheticIds } from '../../src/runtime/bench.ts';
import { argmax, relL2 } from '../../src/runtime/metrics.ts';
import { QUANT_TARGETS } from '../../src/runtime/parity-quant.ts';
import { tempDir } from '../helpers/tmp.ts';
import { GOLDEN, ROOT } from '../helpers/paths.ts';
import { MiniVL } from '../../src/minivl.ts';
import { writeSteeredCheckpoint, STEERED_BOX } from '../serve/steered-checkpoint.ts';
import { join } from 'node:path';

const PIXELS = `${GOLDEN}/preprocess/model_input_wide_1920x1080_max2.safetensors`;
const probe = await probeWebGpu();
const noAdapter = probe.available ? false : `no WebGPU adapter here (${probe.reason}); install mesa-vulkan-drivers from bookworm-backports`;

for (const family of ['qwen2', 'phi3']) {
  test(`${family}: golden parity on the WebGPU provider within the float32 tolerances`, { skip: noAdapter }, async () => {
    const dir = `${GOLDEN}/models/${family}`;
    const warnings: string[] = [];
    const r = await runParity({ modelDir: dir, goldenFile: `${dir}/golden.safetensors`, pixelValuesFile: PIXELS, device: 'webgpu', warn: (m) => warnings.push(m) });
    assert.equal(r.device, 'webgpu');
    assert.deepEqual(warnings, []); // no node without a WebGPU kernel, no fallback
    assert.ok(r.vit_embeds_rel_l2 < TOLERANCES.vit_embeds_rel_l2, `vit_embeds ${r.vit_embeds_rel_l2}`);
    assert.ok(r.logits_rel_l2 < TOLERANCES.logits_rel_l2, `logits ${r.logits_rel_l2}`);
    assert.ok(r.text_logits_rel_l2 < TOLERANCES.text_logits_rel_l2, `text_logits ${r.text_logits_rel_l2}`);
    assert.ok(r.loss_abs_err < TOLERANCES.loss_abs_err, `loss ${r.loss} vs ${r.golden_loss}`);
    assert.equal(r.argmax_agreement, 1);
    assert.deepEqual(r.greedy_tokens, r.golden_greedy_tokens);
    assert.deepEqual(r.failed, []);
  });
}

test('fp16 weights on the WebGPU provider meet the fp16 target against fp32 (qwen2)', { skip: noAdapter }, async () => {
  const dir = `${GOLDEN}/models/qwen2`;
  const weightCacheRoot = await tempDir();
  const r = await runParity({ modelDir: dir, goldenFile: `${dir}/golden.safetensors`, pixelValuesFile: PIXELS, device: 'webgpu', dtype: 'fp16', weightCacheRoot });
  assert.equal(r.device, 'webgpu');
  assert.ok(r.vs_fp32!.logits_rel_l2 < QUANT_TARGETS.fp16!.logits_rel_l2, `fp16 logits vs fp32 ${r.vs_fp32!.logits_rel_l2}`);
  assert.equal(r.vs_fp32!.greedy_match, true);
  assert.deepEqual(r.failed, []);
});

test('minivl parity --device webgpu: one JSON line, device webgpu, within tolerance (internlm2)', { skip: noAdapter }, () => {
  const dir = `${GOLDEN}/models/internlm2`;
  const res = spawnSync(process.execPath, ['scripts/minivl-src.mjs', 'parity', '--model', dir, '--golden', `${dir}/golden.safetensors`, '--pixel-values', PIXELS, '--device', 'webgpu'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  const lines = res.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const j = JSON.parse(lines[0]!);
  assert.equal(j.device, 'webgpu');
  assert.equal(j.ok, true);
  assert.equal(j.greedy_match, true);
  assert.ok(j.logits_rel_l2 < TOLERANCES.logits_rel_l2 && j.vit_embeds_rel_l2 < TOLERANCES.vit_embeds_rel_l2);
  assert.doesNotMatch(res.stderr, /minivl: warning/);
});

test('the GPU-resident KV cache gives the logits of the JS-buffer cache (prefill + 4 steps, phi3)', { skip: noAdapter }, async () => {
  const model = await Model.load(`${GOLDEN}/models/phi3`, { device: 'webgpu' });
  const gpu = new GpuKVDecoder(model);
  try {
    const ids = syntheticIds(40, 3, model.config.llm.vocabSize, 5);
    const embeds = await model.embed(ids);
    const js = new DecodeState(model, 64);
    let a = await js.feed(embeds);
    let b = await gpu.feed(embeds);
    for (let step = 0; ; step++) {
      assert.ok(relL2(b, a) < 1e-5, `step ${step}: rel-L2 ${relL2(b, a)}`);
      assert.equal(argmax(b), argmax(a));
      if (step === 4) break;
      const next = argmax(a);
      a = await js.step(next);
      b = await gpu.step(next);
    }
    assert.equal(gpu.length, 44);
  } finally {
    gpu.release();
    await model.release();
  }
});

test('chat on webgpu runs generate() through the GPU-resident cache end to end (steered answer and box)', { skip: noAdapter }, async () => {
  const dir = join(await tempDir(), 'steered');
  await writeSteeredCheckpoint(dir);
  const vl = await MiniVL.load(dir, { device: 'webgpu' });
  try {
    assert.equal(vl.model.gpuCache, true);
    const r = await vl.chat({ question: 'Where is the cat?', generation: { maxNewTokens: 32 } });
    assert.equal(r.rawText, '<ref>cat</ref><box>[[10,23 ,456,\n789]]</box>');
    assert.deepEqual(r.grounding[0]!.normalized, [STEERED_BOX]);
  } finally {
    await vl.release();
  }
});

test('auto picks WebGPU when an adapter exists', { skip: noAdapter }, async () => {
  assert.equal(await resolveDevice('auto'), 'webgpu');
  assert.equal(await resolveDevice('cpu'), 'cpu');
});

test('without an adapter, --device webgpu runs on the CPU and says so once', () => {
  const dir = `${GOLDEN}/models/qwen2`;
  // An ICD list naming no driver: the Vulkan loader finds no device, as on a machine without a GPU.
  const env = { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' };
  const res = spawnSync(process.execPath, ['scripts/minivl-src.mjs', 'parity', '--model', dir, '--golden', `${dir}/golden.safetensors`, '--pixel-values', PIXELS, '--device', 'webgpu'], { cwd: ROOT, encoding: 'utf8', env });
  assert.equal(res.status, 0, res.stderr);
  const j = JSON.parse(res.stdout.trim());
  assert.equal(j.device, 'cpu');
  assert.equal(j.ok, true);
  const said = res.stderr.split('\n').filter((l) => l.startsWith('minivl: warning:'));
  assert.equal(said.length, 1, res.stderr);
  assert.match(said[0]!, /^minivl: warning: webgpu: no WebGPU adapter \(.+\); running on the CPU$/);
});

test('lowerForWebGpu turns FusedMatMul (transB, alpha) into MatMul + Transpose + Mul with the same values', async () => {
  const build = () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', 'float32', [2, 3, 4]);
    const w = g.constF32(Array.from({ length: 20 }, (_, i) => (i % 7) - 3), [5, 4]); // [n, k] PyTorch layout
    const k = g.input('k', 'float32', [1, 2, 6, 4]);
    const q = g.input('q', 'float32', [1, 2, 3, 4]);
    g.output(g.linear(x, w), 'y', 'float32');
    g.output(g.op1('FusedMatMul', [q, k], { transB: 1, alpha: float(0.5) }, 'com.microsoft'), 's', 'float32');
    return g;
  };
  const lowered = build();
  assert.deepEqual(lowerForWebGpu(lowered), []);
  assert.ok(!lowered.listNodes().some((n) => n.opType === 'FusedMatMul'));
  const feeds = {
    x: new ort.Tensor('float32', Float32Array.from({ length: 24 }, (_, i) => i / 8 - 1), [2, 3, 4]),
    k: new ort.Tensor('float32', Float32Array.from({ length: 48 }, (_, i) => Math.sin(i)), [1, 2, 6, 4]),
    q: new ort.Tensor('float32', Float32Array.from({ length: 24 }, (_, i) => Math.cos(i)), [1, 2, 3, 4]),
  };
  // Both on the CPU provider: the rewrite alone must not change a value (products of small integers
  // and of the same floats in the same order).
  const a = await (await createSession(build().toBytes())).run(feeds);
  const b = await (await createSession(lowered.toBytes())).run(feeds);
  assert.deepEqual(b.y!.dims, a.y!.dims);
  assert.deepEqual(Array.from(b.y!.data as Float32Array), Array.from(a.y!.data as Float32Array));
  assert.deepEqual(b.s!.dims, [1, 2, 3, 6]);
  const sa = a.s!.data as Float32Array;
  const sb = b.s!.data as Float32Array;
  for (let i = 0; i < sa.length; i++) assert.ok(Math.abs(sa[i]! - sb[i]!) <= 1e-6 * Math.max(1, Math.abs(sa[i]!)), `s[${i}] ${sb[i]} vs ${sa[i]}`);
});

test('lowerForWebGpu leaves a FusedMatMul whose operand rank is unknown, and reports it', () => {
  const g = new GraphBuilder('t');
  const a = g.input('a', 'float32', [2, 3]);
  // Reshaped to a shape known only at run time: the transpose permutation cannot be known.
  const b = g.op1('Reshape', [g.input('b', 'float32', [6]), g.input('shape', 'int64', [2])]);
  g.output(g.op1('FusedMatMul', [a, b], { transB: 1 }, 'com.microsoft'), 'y', 'float32');
  assert.deepEqual(lowerForWebGpu(g), ['1 FusedMatMul']);
});
