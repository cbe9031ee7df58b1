// The same graphs on ONNX Runtime's WebGPU provider (in CI: Mesa's software Vulkan, lavapipe, from
// bookworm-backports; .ci/run installs it): golden parity with the float32 tolerances, the graph
// rewrite that keeps every matrix product on the GPU, and the CPU fallback without an adapter; fp16
// computed in float16 (graph/float16.ts) with its float16 GPU-resident cache, and int4 (MatMulNBits) on the GPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { GraphBuilder, float } from '../../src/graph/builder.ts';
import { runParity, TOLERANCES } from '../../src/runtime/parity.ts';
import { computePlan, probeWebGpu, probeWebGpuFloat16, resolveDevice } from '../../src/runtime/device.ts';
import { lowerForWebGpu } from '../../src/runtime/webgpu-graph.ts';
import { createSession, ort } from '../../src/runtime/session.ts';
import { Model } from '../../src/runtime/model.ts';
import { defaultQuantPolicy } from '../../src/runtime/precision.ts';
import { DecodeState } from '../../src/runtime/decode.ts';
import { GpuKVDecoder } from '../../src/runtime/gpu-kv-decoder.ts';
import { syntheticIds } from '../../src/runtime/bench.ts';
import { argmax, relL2 } from '../../src/runtime/metrics.ts';
import { FLOAT16_COMPUTE_TARGET, QUANT_TARGETS } from '../../src/runtime/parity-quant.ts';
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

// fp16 computes in float16 on an adapter with float16 kernels (lavapipe has them): its own tolerance
// against the fp32 CPU forward (FLOAT16_COMPUTE_TARGET, derived in parity-quant.ts), the golden greedy tokens.
const f16 = await probeWebGpuFloat16();
for (const family of ['qwen2', 'internlm2', 'phi3']) {
  test(`${family}: fp16 computed in float16 on WebGPU vs the fp32 CPU forward, within the float16 tolerance; golden greedy tokens`, { skip: noAdapter }, async () => {
    const dir = `${GOLDEN}/models/${family}`;
    const warnings: string[] = [];
    const r = await runParity({ modelDir: dir, goldenFile: `${dir}/golden.safetensors`, pixelValuesFile: PIXELS, device: 'webgpu', dtype: 'fp16', weightCacheRoot: await tempDir(), warn: (m) => warnings.push(m) });
    assert.equal(r.device, 'webgpu');
    assert.equal(r.float16_compute, f16.available);
    assert.deepEqual(warnings, f16.available ? [] : [computePlan('webgpu', 'fp16', f16).fallback]);
    const vs = r.vs_fp32!;
    const t = f16.available ? FLOAT16_COMPUTE_TARGET : QUANT_TARGETS.fp16!;
    assert.ok(vs.logits_rel_l2 < t.logits_rel_l2, `logits vs fp32 ${vs.logits_rel_l2}`);
    if (f16.available) {
      // float16 rounding is visible (the graph really computes in float16), within its tolerance.
      assert.ok(vs.logits_rel_l2 > 1e-4, `logits vs fp32 ${vs.logits_rel_l2}: not float16 arithmetic`);
      assert.ok(vs.vit_embeds_rel_l2 < t.vit_embeds_rel_l2! && vs.text_logits_rel_l2 < t.text_logits_rel_l2!, `vit ${vs.vit_embeds_rel_l2}, text ${vs.text_logits_rel_l2}`);
      assert.ok(vs.top1_agreement >= t.top1_agreement_min!, `top-1 ${vs.top1_agreement}`);
    }
    assert.deepEqual(vs.greedy_tokens, vs.fp32_greedy_tokens);
    assert.deepEqual(r.greedy_tokens, r.golden_greedy_tokens);
    assert.deepEqual(r.failed, []);
  });
}


interface Decoder { feed(embeds: Float32Array): Promise<Float32Array>; step(id: number): Promise<Float32Array> }

/** Prefill (40 tokens) + 4 greedy steps on both decoders: logits within `tol` rel-L2 and the same argmax at each. */
async function assertSameGreedySteps(ref: Decoder, refEmbeds: Float32Array, gpu: Decoder & { readonly length: number }, gpuEmbeds: Float32Array, tol: number): Promise<void> {
  let a = await ref.feed(refEmbeds);
  let b = await gpu.feed(gpuEmbeds);
  for (let step = 0; ; step++) {
    assert.ok(relL2(b, a) < tol, `step ${step}: rel-L2 ${relL2(b, a)}`);
    assert.equal(argmax(b), argmax(a), `step ${step}`);
    if (step === 4) break;
    const next = argmax(a);
    a = await ref.step(next);
    b = await gpu.step(next);
  }
  assert.equal(gpu.length, 44);
}

test('the float16 GPU-resident KV cache (half the bytes) gives the fp32 JS-cache greedy tokens (prefill + 4 steps, phi3)', { skip: noAdapter || (!f16.available && 'no float16 kernels') }, async () => {
  const dir = `${GOLDEN}/models/phi3`;
  const model = await Model.load(dir, { device: 'webgpu', dtype: 'fp16', weightCacheRoot: await tempDir() });
  const ref = await Model.load(dir);
  try {
    assert.equal(model.float16Compute, true);
    assert.equal(model.gpuCache, true);
    const { numLayers: L, numKvHeads: KVH, headDim: d } = model.config.llm;
    const ids = syntheticIds(40, 3, model.config.llm.vocabSize, 5);
    const first = await model.forwardGpuCache(await model.embed(ids), null);
    assert.equal(first.keys.length, L);
    for (const t of [...first.keys, ...first.values]) {
      assert.equal(t.type, 'float16');
      assert.equal(t.location, 'gpu-buffer');
      assert.deepEqual(t.dims, [1, KVH, 41, d]); // the masked stand-in row + 40
      t.dispose();
    }
    const gpu = new GpuKVDecoder(model);
    const js = new DecodeState(ref, 64);
    try {
      await assertSameGreedySteps(js, await ref.embed(ids), gpu, await model.embed(ids), FLOAT16_COMPUTE_TARGET.logits_rel_l2);
    } finally {
      gpu.release();
    }
    // The JS-buffer cache also runs on this model (its float32 past converted to the float16 input).
    const st = new DecodeState(model, 64);
    const st32 = new DecodeState(ref, 64);
    let c = await st.feed(await model.embed(ids));
    let c32 = await st32.feed(await ref.embed(ids));
    for (let step = 0; step < 2; step++) {
      assert.ok(relL2(c, c32) < FLOAT16_COMPUTE_TARGET.logits_rel_l2, `JS cache step ${step}: rel-L2 ${relL2(c, c32)}`);
      assert.equal(argmax(c), argmax(c32));
      const next = argmax(c32);
      c = await st.step(next);
      c32 = await st32.step(next);
    }
  } finally {
    await model.release();
    await ref.release();
  }
});

test('fp16 plan: float16 kernels on WebGPU when the probe finds them, else the float32 kernels with one warning; never on the CPU', async () => {
  assert.deepEqual(computePlan('webgpu', 'fp16', { available: true }), { float16: true });
  const no = computePlan('webgpu', 'fp16', { available: false, reason: 'Invalid feature required: ShaderF16' });
  assert.equal(no.float16, false);
  assert.equal(no.fallback, 'webgpu: no float16 kernels on this adapter (Invalid feature required: ShaderF16); fp16 runs the float32 kernels');
  assert.deepEqual(computePlan('cpu', 'fp16', null), { float16: false });
  assert.deepEqual(computePlan('webgpu', 'fp32', { available: true }), { float16: false });
  assert.deepEqual(computePlan('webgpu', 'int4', { available: true }), { float16: false });
  // The real probe: on lavapipe (Mesa's software Vulkan) Dawn offers shader-f16.
  if (!noAdapter) assert.deepEqual(f16, { available: true });
  else assert.equal(f16.available, false);
});

/**
 * Op types per execution provider from ONNX Runtime's verbose "Node placements" lines. The sessions
 * of a load are created concurrently, so their lines interleave: each line's log id (the session's
 * label) says which session's current provider it belongs to.
 */
function placements(log: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const current = new Map<string, string[]>();
  for (const line of log.split('\n')) {
    const id = /\[\w:onnxruntime:([^,]*),/.exec(line)?.[1] ?? '';
    const m = /(?:Node\(s\)|All nodes) placed on \[(\w+)\]/.exec(line);
    if (m) {
      const ep = out.get(m[1]!) ?? [];
      out.set(m[1]!, ep);
      current.set(id, ep);
      continue;
    }
    const n = /VerifyEachNodeIsAssignedToAnEp\]\s{3}(\S+) \(/.exec(line);
    if (n) current.get(id)?.push(n[1]!);
  }
  return out;
}

test('int4 on WebGPU: MatMulNBits runs on the WebGPU provider (verbose placements), logits within the int4 target of CPU int4', { skip: noAdapter }, async () => {
  const weightCacheRoot = await tempDir();
  const script = `import { Model } from './src/runtime/model.ts';
    const m = await Model.load(${JSON.stringify(`${GOLDEN}/models/qwen2`)}, { device: 'webgpu', dtype: 'int4', weightCacheRoot: ${JSON.stringify(weightCacheRoot)}, ortVerbose: true });
    await m.release();`;
  // stderr into a file, not a pipe: ORT writes its log with std::cerr, which drops everything after
  // the first EAGAIN on a full non-blocking pipe (seen: 1 run in 4 lost the placement lines).
  const logFile = join(weightCacheRoot, 'ort-verbose.log');
  const fd = openSync(logFile, 'w');
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'ignore', fd] });
  closeSync(fd);
  const stderr = readFileSync(logFile, 'utf8');
  assert.equal(res.status, 0, stderr.slice(-2000));
  const p = placements(stderr);
  assert.ok((p.get('WebGpuExecutionProvider') ?? []).filter((op) => op === 'MatMulNBits').length >= 14, 'MatMulNBits nodes on WebGPU');
  assert.deepEqual((p.get('CPUExecutionProvider') ?? []).filter((op) => !['Concat', 'Squeeze', 'Range', 'Reshape', 'LessOrEqual', 'Shape', 'Gather', 'Unsqueeze'].includes(op)), [], 'only shape arithmetic on the CPU');
  for (const family of ['qwen2', 'internlm2', 'phi3']) {
    const dir = `${GOLDEN}/models/${family}`;
    const ids = syntheticIds(40, 3, 512, 11);
    // The same int4 weights on both providers: the WebGPU quantization policy on the CPU too
    // (the CPU default differs: 128-value blocks, the vision tower in int8 rows).
    const quantPolicy = defaultQuantPolicy('int4', 'webgpu');
    const run = async (device: 'cpu' | 'webgpu') => {
      const m = await Model.load(dir, { device, dtype: 'int4', quantPolicy, weightCacheRoot });
      try {
        assert.equal(m.device, device);
        return (await m.forward({ embeds: await m.embed(ids), logitsPositions: ids.map((_, i) => i) })).logits;
      } finally {
        await m.release();
      }
    };
    const cpu = await run('cpu');
    const gpu = await run('webgpu');
    assert.ok(relL2(gpu, cpu) < QUANT_TARGETS.int4!.logits_rel_l2, `${family}: int4 WebGPU vs CPU logits rel-L2 ${relL2(gpu, cpu)}`);
    assert.ok(relL2(gpu, cpu) > 0, `${family}: the two providers computed bit-identical logits (not two devices?)`);
  }
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
    await assertSameGreedySteps(js, embeds, gpu, embeds, 1e-5);
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
