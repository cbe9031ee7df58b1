import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openModelCheckpoint, outputWeightName } from '../../src/model/inventory.ts';
import { ConvertedWeightSource } from '../../src/runtime/converted-weights.ts';
import { defaultQuantPolicy, LINEAR_FORMS, type LinearForm } from '../../src/runtime/precision.ts';
import { GOLDEN } from '../helpers/paths.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { quantizeMatrix, dequantizeMatrix, quantizeChannels, dequantizeChannels, rotateColumns, hadamardBlock } from '../../src/runtime/quantize.ts';
import { hadamard } from '../../src/model/hadamard.ts';
import { GraphWeights, type LinearInput, type WeightSource } from '../../src/model/weights.ts';
import { createSession, ort } from '../../src/runtime/session.ts';

test('4-bit blocks: the largest magnitude maps to code 0 (-8 · scale), codes packed low nibble first', () => {
  // One row, K = 32: values -8..7 times 0.5 → scale = -4 / -8 = 0.5, code = v/0.5 + 8 = 0..15.
  const w = Float32Array.from({ length: 32 }, (_, i) => ((i % 16) - 8) * 0.5);
  const q = quantizeMatrix(w, 1, 32, 4, 32);
  assert.deepEqual([...q.scales], [0.5]);
  assert.equal(q.packed.length, 16);
  assert.equal(q.packed[0], 0 | (1 << 4));
  assert.equal(q.packed[7], 14 | (15 << 4));
  assert.deepEqual([...dequantizeMatrix(q)], [...w]);
});

test('8-bit blocks: scale = value of largest magnitude / -128; a partial last block is zero-padded', () => {
  const w = new Float32Array(40);
  w[0] = 2.56; w[1] = -1.28; w[39] = 1;
  const q = quantizeMatrix(w, 1, 40, 8, 32);
  assert.equal(q.scales.length, 2);
  assert.equal(q.scales[0], Math.fround(2.56 / -128));
  assert.equal(q.packed[0], 0);
  assert.equal(q.packed[1], 192);
  assert.equal(q.packed[32 + 7], 0); // the 1.0 at k=39 is the second block's largest: code 0
  assert.equal(q.packed[32 + 8], 128); // padding = zero point
  const d = dequantizeMatrix(q);
  assert.ok(Math.abs(d[1]! + 1.28) < 1e-6 && d[39] === 1);
});

test('ONNX Runtime MatMulNBits reads the layout as written (4 and 8 bits, float32 accuracy level)', async () => {
  const [N, K, M] = [48, 96, 3];
  let seed = 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  const w = Float32Array.from({ length: N * K }, rnd);
  const x = Float32Array.from({ length: M * K }, rnd);
  for (const bits of [4, 8] as const) {
    const q = quantizeMatrix(w, N, K, bits, 32);
    const deq = dequantizeMatrix(q);
    const g = new GraphBuilder('q');
    const xi = g.input('x', 'float32', [M, K]);
    const b = g.initializer({ name: 'b', dtype: 'uint8', dims: [N, K / 32, (32 * bits) / 8], data: { kind: 'raw', bytes: q.packed } });
    const s = g.initializer({ name: 's', dtype: 'float32', dims: [N * (K / 32)], data: { kind: 'raw', bytes: new Uint8Array(q.scales.buffer) } });
    g.output(g.matMulNBits(xi, b, s, { k: K, n: N, bits, blockSize: 32, accuracyLevel: 1 }), 'y', 'float32');
    const sess = await createSession(g.toBytes());
    const y = (await sess.run({ x: new ort.Tensor('float32', x, [M, K]) })).y!.data as Float32Array;
    await sess.release();
    let maxErr = 0;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let ref = 0;
        for (let k = 0; k < K; k++) ref += x[m * K + k]! * deq[n * K + k]!;
        maxErr = Math.max(maxErr, Math.abs(y[m * N + n]! - ref));
      }
    }
    assert.ok(maxErr < 1e-5, `${bits} bits: max |y - x·deq(W)ᵀ| = ${maxErr}`);
  }
});

test('int8 channels: scale = largest magnitude of the row / 127, codes stored transposed [k, n]', () => {
  const w = Float32Array.from([1.27, -0.635, 0, 0.01, /* row 1 */ -2.54, 1, 2, 0.02]);
  const q = quantizeChannels(w, 2, 4);
  assert.deepEqual([...q.scales], [Math.fround(1.27 / 127), Math.fround(2.54 / 127)]);
  // weights[k * n + r]
  assert.deepEqual([...q.weights], [127, -127, Math.round(-0.635 / q.scales[0]!), Math.round(1 / q.scales[1]!), 0, Math.round(2 / q.scales[1]!), 1, 1]);
  const d = dequantizeChannels(q);
  assert.ok(Math.abs(d[0]! - 1.27) < 1e-6 && Math.abs(d[4]! + 2.54) < 1e-6);
});

test('GraphWeights.linear runs a channels weight as DynamicQuantizeMatMul with the bias fused (exact for uint8-exact inputs)', async () => {
  const [N, K, M] = [40, 64, 3];
  let seed = 3;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  const w = Float32Array.from({ length: N * K }, rnd);
  const bias = Float32Array.from({ length: N }, rnd);
  // Integers −128..127 with both ends present: DynamicQuantizeLinear's scale is exactly 1, zero point 128.
  const x = Float32Array.from({ length: M * K }, (_, i) => (i === 0 ? -128 : i === 1 ? 127 : Math.round(rnd() * 250)));
  const q = quantizeChannels(w, N, K);
  const raw = (a: Float32Array | Int8Array) => ({ kind: 'raw' as const, bytes: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) });
  const src: WeightSource = {
    externalFolder: null,
    ref: (name) => ({ name, dtype: 'F32', shape: [N], data: raw(bias) }),
    quantized: () => ({ form: 'channels', activations: 'tensor', n: N, k: K, weights: raw(q.weights), scales: raw(q.scales) }),
  };
  const g = new GraphBuilder('qc');
  const xi = g.input('x', 'float32', [M, K]);
  g.output(new GraphWeights(g, src).linear(xi, 'w', [N, K], 'b'), 'y', 'float32');
  const sess = await createSession(g.toBytes());
  const y = (await sess.run({ x: new ort.Tensor('float32', x, [M, K]) })).y!.data as Float32Array;
  await sess.release();
  const deq = dequantizeChannels(q);
  let maxRel = 0;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let ref = bias[n]!;
      for (let k = 0; k < K; k++) ref += x[m * K + k]! * deq[n * K + k]!;
      maxRel = Math.max(maxRel, Math.abs(y[m * N + n]! - ref) / (Math.abs(ref) + 1));
    }
  }
  assert.ok(maxRel < 1e-5, `max |y - (x·deq(W)ᵀ + b)| / (|ref| + 1) = ${maxRel}`);
});

test('GraphWeights.linear with per-row activation scales: exact for rows of integers × their own scale, where one scale per call is not', async () => {
  const [N, K] = [24, 32];
  const rowScales = [1, 1024, 2 ** -10, 0.375]; // exact in float32, so x / (row max / 127) is exactly the integers
  const M = rowScales.length;
  let seed = 11;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  const w = Float32Array.from({ length: N * K }, rnd);
  const bias = Float32Array.from({ length: N }, rnd);
  // Row m: integers in −127..127 (127 present) times c_m, so row max / 127 = c_m and x / c_m is exact.
  const x = Float32Array.from({ length: M * K }, (_, i) => {
    const m = Math.floor(i / K);
    return Math.fround((i % K === 0 ? 127 : Math.round(rnd() * 250)) * rowScales[m]!);
  });
  const q = quantizeChannels(w, N, K);
  const deq = dequantizeChannels(q);
  const raw = (a: Float32Array | Int8Array) => ({ kind: 'raw' as const, bytes: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) });
  const run = async (activations: 'rows' | 'tensor') => {
    const src: WeightSource = {
      externalFolder: null,
      ref: (name) => ({ name, dtype: 'F32', shape: [N], data: raw(bias) }),
      quantized: () => ({ form: 'channels', activations, n: N, k: K, weights: raw(q.weights), scales: raw(q.scales) }),
    };
    const g = new GraphBuilder('qr');
    const xi = g.input('x', 'float32', [1, M, K]);
    g.output(new GraphWeights(g, src).linear(xi, 'w', [N, K], 'b'), 'y', 'float32');
    const sess = await createSession(g.toBytes());
    const out = (await sess.run({ x: new ort.Tensor('float32', x, [1, M, K]) })).y!;
    await sess.release();
    assert.deepEqual(out.dims, [1, M, N]);
    const y = out.data as Float32Array;
    let maxRel = 0;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let ref = 0;
        for (let k = 0; k < K; k++) ref += x[m * K + k]! * deq[n * K + k]!;
        // relative to the row's own magnitude (the bias is added after the product)
        maxRel = Math.max(maxRel, Math.abs(y[m * N + n]! - bias[n]! - ref) / (Math.abs(ref) + rowScales[m]!));
      }
    }
    return maxRel;
  };
  const rows = await run('rows');
  assert.ok(rows < 1e-5, `rows: max relative error ${rows}`);
  const tensor = await run('tensor');
  assert.ok(tensor > 1e-2, `one scale per call should lose the small rows, got ${tensor}`);
});

test('each linear form routes the normed linears, the others and the head as documented', async () => {
  const { ckpt, cfg } = await openModelCheckpoint(`${GOLDEN}/models/qwen2`);
  const head = outputWeightName(ckpt, cfg);
  const { hiddenSize: H, intermediateSize: I } = cfg.llm;
  const route = (llmForm: LinearForm, name: string, shape: [number, number], input: LinearInput) => {
    const src = new ConvertedWeightSource(ckpt, 'int8', { ...defaultQuantPolicy('int8'), llmForm }, '/nonexistent', head);
    const q = src.quantized(name, shape, input)!;
    return q.form === 'blocks' ? 'blocks' : `channels/${q.activations}${q.rotate ? `+h${q.rotate}` : ''}`;
  };
  const gate: [string, [number, number], LinearInput] = ['language_model.model.layers.0.mlp.gate_proj.weight', [I, H], 'normed'];
  const down: [string, [number, number], LinearInput] = ['language_model.model.layers.0.mlp.down_proj.weight', [H, I], 'other'];
  const want: Record<LinearForm, [string, string]> = {
    blocks: ['blocks', 'blocks'],
    channels: ['channels/tensor', 'channels/tensor'],
    'normed-channels': ['channels/tensor', 'blocks'],
    rows: ['channels/rows', 'channels/rows'],
    'normed-channels-rows': ['channels/tensor', 'channels/rows'],
    'normed-channels-rotated': ['channels/tensor', 'channels/rows+h32'], // k = 160 = 5 · 32
  };
  for (const form of LINEAR_FORMS) {
    assert.deepEqual([route(form, ...gate), route(form, ...down)], want[form], form);
    assert.equal(route(form, head, [cfg.llm.vocabSize, H], 'other'), 'blocks', `${form}: the head stays in blocks`);
  }
});

test('Hadamard blocks: H·Hᵀ = I, and rotating x and the weight columns alike leaves x·Wᵀ unchanged', () => {
  for (const b of [1, 2, 16, 64]) {
    const h = hadamard(b);
    for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) {
      let dot = 0;
      for (let t = 0; t < b; t++) dot += h[i * b + t]! * h[j * b + t]!;
      assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-6, `b=${b}: (H·Hᵀ)[${i}][${j}] = ${dot}`);
      assert.equal(h[i * b + j], h[j * b + i], 'symmetric');
    }
  }
  assert.throws(() => hadamard(48), /not a power of two/);
  // rotateColumns (fast transform) rotates by the same matrix the graph multiplies with: the identity's rows → H's rows
  const eye = Float32Array.from({ length: 64 * 64 }, (_, i) => (i % 65 === 0 ? 1 : 0));
  const rotated = rotateColumns(eye, 64, 64, 64);
  const h64 = hadamard(64);
  assert.ok(rotated.every((v, i) => Math.abs(v - h64[i]!) < 1e-7), 'rotateColumns(I) = H');
  assert.deepEqual([hadamardBlock(4864), hadamardBlock(896), hadamardBlock(160), hadamardBlock(48), hadamardBlock(100)], [64, 64, 32, 16, null]);
  const [n, k, b] = [3, 128, 32];
  let seed = 5;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  const w = Float32Array.from({ length: n * k }, rnd);
  const x = Float32Array.from({ length: k }, rnd);
  const xr = rotateColumns(x, 1, k, b);
  const wr = rotateColumns(w, n, k, b);
  for (let r = 0; r < n; r++) {
    let ref = 0;
    let rot = 0;
    for (let i = 0; i < k; i++) {
      ref += x[i]! * w[r * k + i]!;
      rot += xr[i]! * wr[r * k + i]!;
    }
    assert.ok(Math.abs(rot - ref) < 1e-5, `row ${r}: ${rot} vs ${ref}`);
  }
});

test('GraphWeights.linear with rotated rows: x·Wᵀ within int8 rounding where one row scale alone loses the rows with a peak', async () => {
  const [N, K, M] = [16, 256, 6];
  let seed = 3;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  const w = Float32Array.from({ length: N * K }, rnd);
  // Each row: small values and one peak 200× larger (what one scale per row handles worst).
  const x = Float32Array.from({ length: M * K }, (_, i) => (i % K === (i / K | 0) * 37 % K ? 100 : rnd()));
  const raw = (a: Float32Array | Int8Array) => ({ kind: 'raw' as const, bytes: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) });
  const run = async (rotate: number | undefined) => {
    const q = quantizeChannels(rotate ? rotateColumns(w, N, K, rotate) : w, N, K);
    const src: WeightSource = {
      externalFolder: null,
      ref: () => { throw new Error('no float tensors'); },
      quantized: () => ({ form: 'channels', activations: 'rows', ...(rotate ? { rotate } : {}), n: N, k: K, weights: raw(q.weights), scales: raw(q.scales) }),
    };
    const g = new GraphBuilder('qrot');
    const xi = g.input('x', 'float32', [1, M, K]);
    g.output(new GraphWeights(g, src).linear(xi, 'w', [N, K]), 'y', 'float32');
    const sess = await createSession(g.toBytes());
    const y = (await sess.run({ x: new ort.Tensor('float32', x, [1, M, K]) })).y!.data as Float32Array;
    await sess.release();
    // rel-L2 against the exact float product x·Wᵀ
    let err = 0;
    let ref2 = 0;
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
      let ref = 0;
      for (let k = 0; k < K; k++) ref += x[m * K + k]! * w[n * K + k]!;
      err += (y[m * N + n]! - ref) ** 2;
      ref2 += ref ** 2;
    }
    return Math.sqrt(err / ref2);
  };
  const plain = await run(undefined);
  const rotated = await run(64);
  // measured: 3.7e-2 plain, 8.7e-3 rotated (int8 weights and activations, K = 256)
  assert.ok(rotated < 1.5e-2, `rotated rows: rel-L2 ${rotated}`);
  assert.ok(rotated < plain / 3, `the rotation should cut the error of one scale per row ≥ 3×: ${rotated} vs ${plain}`);
});
