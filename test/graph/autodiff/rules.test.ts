/**
 * Every gradient rule against central finite differences on ONNX Runtime (float64 where ORT has the
 * kernel, float32 otherwise), with broadcasting, batched products and the model graphs' attribute
 * combinations. The last test asserts that no rule of the table goes unchecked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { float, type GraphBuilder, type Value } from '../../../src/graph/builder.ts';
import { GRADIENT_RULES } from '../../../src/graph/autodiff/index.ts';
import { checkGradients, uniform, type CheckInput } from '../../../src/runtime/gradcheck.ts';

interface Case {
  name: string;
  /** Rules exercised (op types). */
  ops: string[];
  inputs: CheckInput[];
  build: (g: GraphBuilder, x: Value[]) => Value[];
  /** Relative L2 tolerance: float64 cases 1e-6, float32 cases 2e-3 (ε = 1e-3 rounding noise). */
  tol?: number;
}

const f64 = (name: string, shape: number[], extra: Partial<CheckInput> = {}): CheckInput => ({ name, dtype: 'float64', shape, ...extra });
const f32 = (name: string, shape: number[], extra: Partial<CheckInput> = {}): CheckInput => ({ name, dtype: 'float32', shape, ...extra });
const i64 = (name: string, shape: number[], data: number[]): CheckInput => ({ name, dtype: 'int64', shape, data, wrt: false });
const positive = (n: number, seed: number) => uniform(n, seed).map((v) => 1.5 + v);
const F32_TOL = 2e-3;

const cases: Case[] = [
  { name: 'Add with broadcasting both ways', ops: ['Add'], inputs: [f64('a', [2, 1, 4]), f64('b', [3, 1])], build: (g, [a, b]) => [g.add(a!, b!)] },
  { name: 'Sub with rank extension', ops: ['Sub'], inputs: [f64('a', [2, 3]), f64('b', [3])], build: (g, [a, b]) => [g.op1('Sub', [a!, b!])] },
  { name: 'Mul with broadcasting', ops: ['Mul'], inputs: [f64('a', [2, 3, 4]), f64('b', [1, 3, 1])], build: (g, [a, b]) => [g.mul(a!, b!)] },
  { name: 'Div with broadcasting', ops: ['Div'], inputs: [f64('a', [2, 3]), f64('b', [2, 1], { data: positive(2, 3) })], build: (g, [a, b]) => [g.op1('Div', [a!, b!])] },
  { name: 'Neg, Identity', ops: ['Neg', 'Identity'], inputs: [f64('a', [5])], build: (g, [a]) => [g.op1('Identity', [g.op1('Neg', [a!])])] },
  { name: 'Cast float32 → float64', ops: ['Cast'], inputs: [f32('a', [4])], build: (g, [a]) => [g.mul(g.cast(a!, 'float64'), g.cast(a!, 'float64'))], tol: F32_TOL },
  { name: 'Where', ops: ['Where'], inputs: [{ name: 'c', dtype: 'bool', shape: [2, 3], data: [1, 0, 1, 0, 0, 1], wrt: false }, f64('a', [2, 3]), f64('b', [3])], build: (g, [c, a, b]) => [g.op1('Where', [c!, a!, b!])] },
  { name: 'Sigmoid', ops: ['Sigmoid'], inputs: [f64('a', [2, 5])], build: (g, [a]) => [g.sigmoid(a!)] },
  // ORT fuses x·sigmoid(x) into QuickGelu, which has float32 kernels only.
  { name: 'SiLU as x·sigmoid(x)', ops: ['Sigmoid', 'Mul'], inputs: [f32('a', [2, 5])], build: (g, [a]) => [g.silu(a!)], tol: F32_TOL },
  { name: 'Gelu (exact)', ops: ['Gelu'], inputs: [f32('a', [3, 4], { data: uniform(12, 9).map((v) => 3 * v) })], build: (g, [a]) => [g.gelu(a!)], tol: F32_TOL },
  { name: 'Softmax over the last axis', ops: ['Softmax'], inputs: [f64('a', [2, 3, 5])], build: (g, [a]) => [g.softmax(a!, -1)] },
  { name: 'Softmax over axis 1', ops: ['Softmax'], inputs: [f64('a', [2, 3, 5])], build: (g, [a]) => [g.softmax(a!, 1)] },
  { name: 'LogSoftmax', ops: ['LogSoftmax'], inputs: [f64('a', [3, 6])], build: (g, [a]) => [g.op1('LogSoftmax', [a!], { axis: -1 })] },
  { name: 'MatMul batched with broadcasting', ops: ['MatMul'], inputs: [f64('a', [2, 3, 4]), f64('b', [4, 5])], build: (g, [a, b]) => [g.matMul(a!, b!)] },
  { name: 'MatMul batch-broadcast left', ops: ['MatMul'], inputs: [f64('a', [3, 4]), f64('b', [2, 4, 5])], build: (g, [a, b]) => [g.matMul(a!, b!)] },
  { name: 'FusedMatMul transB (linear x·Wᵀ)', ops: ['FusedMatMul'], inputs: [f32('x', [1, 3, 4]), f32('w', [5, 4])], build: (g, [x, w]) => [g.linear(x!, w!)], tol: F32_TOL },
  { name: 'FusedMatMul with a frozen weight (input gradient only)', ops: ['FusedMatMul'], inputs: [f32('x', [1, 3, 4]), f32('w', [5, 4], { wrt: false })], build: (g, [x, w]) => [g.linear(x!, w!)], tol: F32_TOL },
  { name: 'LayerNormalization with frozen affine', ops: ['LayerNormalization'], inputs: [f64('x', [3, 8]), f64('w', [8], { wrt: false }), f64('b', [8], { wrt: false })], build: (g, [x, w, b]) => [g.layerNorm(x!, w!, b!, 1e-6)] },
  { name: 'MultiHeadAttention, value gradient only', ops: ['MultiHeadAttention'], inputs: [f32('q', [1, 3, 8], { wrt: false }), f32('k', [1, 4, 8], { wrt: false }), f32('v', [1, 4, 8])], build: (g, [q, k, v]) => [g.op1('MultiHeadAttention', [q!, k!, v!], { num_heads: 2 }, 'com.microsoft')], tol: F32_TOL },
  { name: 'FusedMatMul transB alpha batched (attention scores)', ops: ['FusedMatMul'], inputs: [f32('q', [2, 3, 4]), f32('k', [2, 5, 4])], build: (g, [q, k]) => [g.op1('FusedMatMul', [q!, k!], { transB: 1, alpha: float(0.5) }, 'com.microsoft')], tol: F32_TOL },
  { name: 'FusedMatMul transA', ops: ['FusedMatMul'], inputs: [f32('a', [2, 4, 3]), f32('b', [2, 4, 5])], build: (g, [a, b]) => [g.op1('FusedMatMul', [a!, b!], { transA: 1 }, 'com.microsoft')], tol: F32_TOL },
  { name: 'FusedMatMul transA transB', ops: ['FusedMatMul'], inputs: [f32('a', [4, 3]), f32('b', [5, 4])], build: (g, [a, b]) => [g.op1('FusedMatMul', [a!, b!], { transA: 1, transB: 1, alpha: float(1.5) }, 'com.microsoft')], tol: F32_TOL },
  { name: 'RMSNormalization', ops: ['RMSNormalization'], inputs: [f32('x', [2, 3, 8]), f32('w', [8])], build: (g, [x, w]) => [g.rmsNorm(x!, w!, 1e-6)], tol: F32_TOL },
  { name: 'SimplifiedLayerNormalization', ops: ['SimplifiedLayerNormalization'], inputs: [f32('x', [3, 8]), f32('w', [8])], build: (g, [x, w]) => [g.op1('SimplifiedLayerNormalization', [x!, w!], { axis: -1, epsilon: float(1e-5) })], tol: F32_TOL },
  { name: 'LayerNormalization', ops: ['LayerNormalization'], inputs: [f64('x', [2, 3, 8]), f64('w', [8]), f64('b', [8])], build: (g, [x, w, b]) => [g.layerNorm(x!, w!, b!, 1e-6)] },
  { name: 'RotaryEmbedding (rotate_half, 2 heads)', ops: ['RotaryEmbedding'], inputs: [f32('x', [1, 3, 8]), f32('cos', [1, 3, 2], { wrt: false }), f32('sin', [1, 3, 2], { wrt: false })], build: (g, [x, c, s]) => [g.op1('RotaryEmbedding', [x!, c!, s!], { num_heads: 2, interleaved: 0 })], tol: F32_TOL },
  { name: 'MultiHeadAttention (2 heads)', ops: ['MultiHeadAttention'], inputs: [f32('q', [1, 3, 8]), f32('k', [1, 4, 8]), f32('v', [1, 4, 8])], build: (g, [q, k, v]) => [g.op1('MultiHeadAttention', [q!, k!, v!], { num_heads: 2 }, 'com.microsoft')], tol: F32_TOL },
  { name: 'Transpose', ops: ['Transpose'], inputs: [f64('a', [2, 3, 4])], build: (g, [a]) => [g.transpose(a!, [2, 0, 1])] },
  { name: 'Reshape with 0 and −1', ops: ['Reshape'], inputs: [f64('a', [2, 3, 4])], build: (g, [a]) => [g.reshape(a!, [0, -1, 2])] },
  { name: 'Squeeze, Unsqueeze', ops: ['Squeeze', 'Unsqueeze'], inputs: [f64('a', [2, 1, 3])], build: (g, [a]) => [g.op1('Unsqueeze', [g.op1('Squeeze', [a!, g.constI64([1])]), g.constI64([0])])] },
  { name: 'Expand', ops: ['Expand'], inputs: [f64('a', [1, 1, 3])], build: (g, [a]) => [g.op1('Expand', [a!, g.constI64([2, 4, 3])])] },
  { name: 'Concat', ops: ['Concat'], inputs: [f64('a', [2, 3]), f64('b', [2, 2])], build: (g, [a, b]) => [g.concat([a!, b!, a!], 1)] },
  { name: 'Split with an unused part', ops: ['Split'], inputs: [f64('a', [2, 7])], build: (g, [a]) => { const [p, , r] = g.split(a!, [2, 3, 2], -1); return [g.mul(p!, r!)]; } },
  { name: 'Slice', ops: ['Slice'], inputs: [f64('a', [3, 6])], build: (g, [a]) => [g.slice(a!, [1, -4], [3, 5], [0, 1])] },
  { name: 'Gather axis 0 with repeated indices (embedding merge)', ops: ['Gather'], inputs: [f64('a', [4, 3]), i64('i', [5], [3, 0, 3, 1, 2])], build: (g, [a, i]) => [g.gather(a!, i!, 0)] },
  { name: 'Gather axis 1 (logits positions)', ops: ['Gather'], inputs: [f64('a', [1, 5, 3]), i64('i', [2], [4, 1])], build: (g, [a, i]) => [g.gather(a!, i!, 1)] },
  { name: 'GatherElements (target log-probs)', ops: ['GatherElements'], inputs: [f64('a', [1, 3, 5]), i64('i', [1, 3, 1], [4, 0, 2])], build: (g, [a, i]) => [g.op1('GatherElements', [a!, i!], { axis: 2 })] },
  // ORT's Conv has float32 kernels only; the patch embedding's form (kernel = strides).
  { name: 'Conv as a patch embedding (kernel = strides 2, bias)', ops: ['Conv'], inputs: [f32('x', [2, 3, 4, 6]), f32('w', [5, 3, 2, 2]), f32('b', [5])], build: (g, [x, w, b]) => [g.op1('Conv', [x!, w!, b!], { kernel_shape: [2, 2], strides: [2, 2] })], tol: F32_TOL },
  { name: 'ReduceSum keepdims 0 and 1', ops: ['ReduceSum'], inputs: [f64('a', [2, 3, 4])], build: (g, [a]) => [g.op1('ReduceSum', [a!, g.constI64([1])], { keepdims: 0 }), g.op1('ReduceSum', [a!, g.constI64([0, 2])], { keepdims: 1 })] },
];

for (const c of cases) {
  test(`gradient rule: ${c.name}`, async () => {
    const r = await checkGradients({ build: c.build, inputs: c.inputs });
    const tol = c.tol ?? 1e-6;
    assert.ok(Object.keys(r.relErr).length > 0);
    for (const [name, err] of Object.entries(r.relErr)) assert.ok(err < tol, `${name}: relative error ${err} ≥ ${tol}`);
    if (process.env.GRADCHECK_VERBOSE) console.log(c.name, r.relErr);
  });
}

test('every rule in the table is finite-difference checked', () => {
  const covered = new Set(cases.flatMap((c) => c.ops));
  const missing = Object.keys(GRADIENT_RULES).filter((op) => !covered.has(op));
  assert.deepEqual(missing, []);
});

