// One linear y = x·Wᵀ at prefill sizes on each way ONNX Runtime's CPU provider can run 4-bit weights, next to
// the int8 QGEMM that int8's prefill uses — in one process, interleaved rounds. Why int4's prefill stays at
// about half of int8's (README "Precisions"):
//   qgemm-int8     int8 weights per channel, DynamicQuantizeMatMul (MLAS u8s8 QGEMM; the weights prepacked)
//   nbits4-bN      MatMulNBits, 4 bits, blocks of N (accuracy_level 4: int8 dot products)
//   cast4-qgemm    int4 weights [K, N] widened by Cast to int8 on every call, then the same QGEMM (constant
//                  folding off, or ORT would store the int8 copy at load)
//   cast4          the Cast alone
//   flock /tmp/minivl-heavy.lock node --import tsx bench/int4-paths.ts [--shapes 256x896x4864,1024x896x4864]
//        [--paths qgemm-int8,nbits4-b32,nbits4-b128,nbits4-b256,cast4-qgemm,cast4] [--rounds 7] [--threads 2]
// Random weights; prints the median and fastest ms per call and the GOPS (2·M·K·N) of the median.
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { GraphBuilder } from '../src/graph/builder.ts';
import { quantizeChannels, quantizeMatrix } from '../src/runtime/quantize.ts';
import { ort } from '../src/runtime/session.ts';
import { median } from './stats.ts';

const { values } = parseArgs({
  options: {
    shapes: { type: 'string', default: '256x896x4864,1024x896x4864,256x4864x896' },
    paths: { type: 'string', default: 'qgemm-int8,nbits4-b32,nbits4-b128,nbits4-b256,cast4-qgemm,cast4' },
    rounds: { type: 'string', default: '7' },
    threads: { type: 'string', default: String(availableParallelism()) },
  },
});
const threads = Number(values.threads);
const la = () => loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`machine: ${cpus()[0]?.model} x${availableParallelism()} | threads ${threads} | ${values.rounds} rounds | load ${la()}`);

const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
function random(n: number, scale: number, seed: number): Float32Array {
  let x = seed;
  return Float32Array.from({ length: n }, () => ((x = (x * 1103515245 + 12345) % 2147483648), (x / 2147483648 - 0.5) * scale));
}

/** W [n, k] as int4 codes per output channel (symmetric, row max → 7), transposed to [k, n] and packed low nibble first. */
function int4Channels(w: Float32Array, n: number, k: number): { packed: Uint8Array; scales: Float32Array } {
  const codes = new Int8Array(k * n);
  const scales = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let amax = 0;
    for (let i = 0; i < k; i++) amax = Math.max(amax, Math.abs(w[r * k + i]!));
    scales[r] = amax / 7 || 1;
    for (let i = 0; i < k; i++) codes[i * n + r] = Math.max(-8, Math.min(7, Math.round(w[r * k + i]! / scales[r]!)));
  }
  const packed = new Uint8Array(Math.ceil(codes.length / 2));
  for (let i = 0; i < codes.length; i++) packed[i >> 1]! |= (codes[i]! & 15) << ((i & 1) * 4);
  return { packed, scales };
}

async function build(path: string, k: number, n: number, w: Float32Array): Promise<ort.InferenceSession> {
  const g = new GraphBuilder('linear');
  const x = g.input('x', 'float32', [1, 'S', k]);
  let y;
  if (path === 'qgemm-int8') {
    const q = quantizeChannels(w, n, k);
    const b = g.initializer({ name: 'b', dtype: 'int8', dims: [k, n], data: { kind: 'raw', bytes: bytes(q.weights) } });
    y = g.op1('DynamicQuantizeMatMul', [x, b, g.initializer({ name: 's', dtype: 'float32', dims: [n], data: { kind: 'raw', bytes: bytes(q.scales) } })], {}, 'com.microsoft');
  } else if (path.startsWith('nbits4-b')) {
    const block = Number(path.slice('nbits4-b'.length));
    const q = quantizeMatrix(w, n, k, 4, block);
    const blocks = Math.ceil(k / block);
    const b = g.initializer({ name: 'b', dtype: 'uint8', dims: [n, blocks, block / 2], data: { kind: 'raw', bytes: q.packed } });
    const s = g.initializer({ name: 's', dtype: 'float32', dims: [n * blocks], data: { kind: 'raw', bytes: bytes(q.scales) } });
    y = g.matMulNBits(x, b, s, { k, n, bits: 4, blockSize: block });
  } else if (path === 'cast4-qgemm' || path === 'cast4') {
    const q = int4Channels(w, n, k);
    const b = g.cast(g.initializer({ name: 'b4', dtype: 'int4', dims: [k, n], data: { kind: 'raw', bytes: q.packed } }), 'int8');
    y = path === 'cast4'
      ? g.add(g.cast(g.op1('ReduceMax', [b, g.constI64([0, 1])], { keepdims: 0 }), 'float32'), g.op1('ReduceMax', [x, g.constI64([0, 1, 2])], { keepdims: 0 }))
      : g.op1('DynamicQuantizeMatMul', [x, b, g.initializer({ name: 's', dtype: 'float32', dims: [n], data: { kind: 'raw', bytes: bytes(q.scales) } })], {}, 'com.microsoft');
  } else {
    throw new Error(`unknown path ${path}`);
  }
  g.output(y, 'y', 'float32');
  // ConstantFolding off for the Cast paths only: otherwise ORT widens the int4 initializer once at load.
  // (ORT directly: createSession's options have no such switch, and the product needs none.)
  const optimization = path.startsWith('cast4') ? { optimization: { disable_specified_optimizers: 'ConstantFolding' } } : {};
  return ort.InferenceSession.create(g.toBytes(), { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1, extra: { ...optimization } });
}

for (const shape of values.shapes!.split(',')) {
  const [m, k, n] = shape.split('x').map(Number) as [number, number, number];
  const w = random(n * k, 0.1, 7);
  const feeds = { x: new ort.Tensor('float32', random(m * k, 2, 3), [1, m, k]) };
  const runs: { path: string; s: ort.InferenceSession; ms: number[] }[] = [];
  for (const path of values.paths!.split(',')) {
    const s = await build(path, k, n, w);
    await s.run(feeds); // first call: shapes planned, buffers allocated
    runs.push({ path, s, ms: [] });
  }
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const e of runs) {
      const t = performance.now();
      await e.s.run(feeds);
      e.ms.push(performance.now() - t);
    }
  }
  for (const e of runs) {
    const med = median(e.ms);
    console.log(`${shape.padEnd(15)} ${e.path.padEnd(12)} median ${med.toFixed(1).padStart(6)} ms  fastest ${Math.min(...e.ms).toFixed(1).padStart(6)} ms  ${((2 * m * k * n) / med / 1e6).toFixed(0).padStart(4)} GOPS`);
    await e.s.release();
  }
}
console.log(`load at the end: ${la()}`);
