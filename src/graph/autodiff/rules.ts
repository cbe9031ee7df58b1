/**
 * The gradient rules: one per op the model graphs (and the training loss) emit. A rule gets the
 * forward node, the gradients of its outputs (null = that output does not reach the loss) and
 * returns the gradients of its inputs (null = not differentiable / not needed). Rules may
 * recompute forward quantities (the normalisation statistics, attention probabilities) instead of
 * keeping them as extra outputs: ORT keeps those intermediates anyway while the graph runs.
 * Every rule is checked against central finite differences (src/runtime/gradcheck.ts, tests).
 */
import type { GraphBuilder, Value } from '../builder.ts';
import type { Dim } from './dims.ts';
import { attrFloat, attrInt, attrInts, type GraphNode, type ValueInfo } from './shapes.ts';
import { matmulT, reduceTo, scalarOf, shapeOf, zerosLike } from './emit.ts';

export interface RuleContext {
  g: GraphBuilder;
  node: GraphNode;
  info(name: string): ValueInfo;
  /** Whether input i's gradient is needed: rules emit nothing for the others (ORT would run it). */
  wants(i: number): boolean;
}

export type GradRule = (c: RuleContext, dy: (Value | null)[]) => (Value | null)[];

const inV = (c: RuleContext, i: number): Value => ({ name: c.node.inputs[i]! });
const outV = (c: RuleContext, i = 0): Value => ({ name: c.node.outputs[i]! });
const inI = (c: RuleContext, i: number): ValueInfo => c.info(c.node.inputs[i]!);
const outI = (c: RuleContext, i = 0): ValueInfo => c.info(c.node.outputs[i]!);
const rankOf = (c: RuleContext, i: number) => inI(c, i).shape.length;
const norm = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);
const one = (dy: (Value | null)[]): Value => dy[0]!;
const needs = (c: RuleContext, i: number) => Boolean(c.node.inputs[i]);

/** Gradient reduced from the output's shape to input i's shape. */
const toInput = (c: RuleContext, grad: Value, i: number): Value => reduceTo(c.g, grad, outI(c).shape, inV(c, i), inI(c, i));

function reshapeLike(c: RuleContext, grad: Value, i: number): Value {
  return c.g.op1('Reshape', [grad, shapeOf(c.g, inV(c, i), inI(c, i))]);
}

function matmulRule(c: RuleContext, dy: (Value | null)[]): (Value | null)[] {
  const { g } = c;
  const tA = c.node.opType === 'FusedMatMul' && attrInt(c.node, 'transA', 0) === 1;
  const tB = c.node.opType === 'FusedMatMul' && attrInt(c.node, 'transB', 0) === 1;
  const alpha = c.node.opType === 'FusedMatMul' ? attrFloat(c.node, 'alpha', 1) : 1;
  if (c.node.opType === 'FusedMatMul' && (attrInt(c.node, 'transBatchA', 0) || attrInt(c.node, 'transBatchB', 0))) {
    throw new Error('autodiff: FusedMatMul with transBatch is not supported');
  }
  const d = one(dy);
  const a = inV(c, 0);
  const b = inV(c, 1);
  const ai = inI(c, 0);
  const bi = inI(c, 1);
  const yi = outI(c);
  const ra = ai.shape.length;
  const rb = bi.shape.length;
  const ry = yi.shape.length;
  const dt = yi.dtype;
  const batch = yi.shape.slice(0, -2);
  const last2 = (s: readonly Dim[]) => s.slice(-2);

  // op(a) = aᵀ when tA: dA = α·dy·op(b)ᵀ (transposed back), dB = α·op(a)ᵀ·dy (transposed back).
  let dA: Value | null = null;
  if (c.wants(0)) {
    const da = !tA ? matmulT(g, dt, d, ry, b, rb, false, !tB, alpha) : matmulT(g, dt, b, rb, d, ry, tB, true, alpha);
    dA = reduceTo(g, da, [...batch, ...last2(ai.shape)], a, ai);
  }
  let dB: Value | null = null;
  if (!c.wants(1)) {
    // Frozen weight: no product for it.
  } else if (rb === 2 && ra > 2 && !tA) {
    // A 2-D weight under a batched input (x [.., S, K] · W): one 2-D product over the flattened rows.
    const rows2d = (v: Value, last: Dim, rank: number) =>
      g.op1('Reshape', [v, typeof last === 'number' ? g.constI64([-1, last]) : g.concat([g.constI64([-1]), g.shape(v, rank - 1)], 0)]);
    const a2 = rows2d(a, ai.shape[ra - 1]!, ra);
    const d2 = rows2d(d, yi.shape[ry - 1]!, ry);
    dB = tB ? matmulT(g, dt, d2, 2, a2, 2, true, false, alpha) : matmulT(g, dt, a2, 2, d2, 2, true, false, alpha);
  } else {
    let db: Value;
    if (!tB) db = matmulT(g, dt, a, ra, d, ry, !tA, false, alpha);
    else db = matmulT(g, dt, d, ry, a, ra, true, tA, alpha);
    dB = reduceTo(g, db, [...batch, ...last2(bi.shape)], b, bi);
  }
  return [dA, dB];
}

/** Normalisation statistics recomputed over the last axis: 1/sqrt(mean(x²)+eps) (RMS) or of the centred x (LayerNorm). */
function invStd(g: GraphBuilder, c: RuleContext, x: Value, eps: number): Value {
  const dt = inI(c, 0).dtype;
  const ms = g.op1('ReduceMean', [g.mul(x, x), g.constI64([-1])], { keepdims: 1 });
  return g.op1('Reciprocal', [g.op1('Sqrt', [g.add(ms, scalarOf(g, dt, eps))])]);
}

function lastAxisOnly(c: RuleContext) {
  const axis = attrInt(c.node, 'axis', -1);
  if (norm(axis, rankOf(c, 0)) !== rankOf(c, 0) - 1) throw new Error(`autodiff: ${c.node.opType} over axis ${axis} (only the last axis is supported)`);
}

const meanLast = (g: GraphBuilder, v: Value) => g.op1('ReduceMean', [v, g.constI64([-1])], { keepdims: 1 });

function rmsNormRule(c: RuleContext, dy: (Value | null)[]): (Value | null)[] {
  lastAxisOnly(c);
  const { g } = c;
  const d = one(dy);
  const x = inV(c, 0);
  const r = invStd(g, c, x, attrFloat(c.node, 'epsilon', 1e-5));
  const n = g.mul(x, r);
  const dn = g.mul(d, inV(c, 1));
  const dx = c.wants(0) ? g.mul(r, g.op1('Sub', [dn, g.mul(n, meanLast(g, g.mul(dn, n)))])) : null;
  return [dx, c.wants(1) ? toInput(c, g.mul(d, n), 1) : null];
}

function layerNormRule(c: RuleContext, dy: (Value | null)[]): (Value | null)[] {
  lastAxisOnly(c);
  const { g } = c;
  const d = one(dy);
  const xc = g.op1('Sub', [inV(c, 0), meanLast(g, inV(c, 0))]);
  const r = invStd(g, c, xc, attrFloat(c.node, 'epsilon', 1e-5));
  const n = g.mul(xc, r);
  const dn = g.mul(d, inV(c, 1));
  const inner = g.op1('Sub', [g.op1('Sub', [dn, meanLast(g, dn)]), g.mul(n, meanLast(g, g.mul(dn, n)))]);
  const dx = c.wants(0) ? g.mul(r, inner) : null;
  const dw = c.wants(1) ? toInput(c, g.mul(d, n), 1) : null;
  const db = needs(c, 2) && c.wants(2) ? toInput(c, d, 2) : null;
  return [dx, dw, db];
}

function geluRule(c: RuleContext, dy: (Value | null)[]): (Value | null)[] {
  if ((c.node.attrs.approximate ?? 'none') !== 'none') throw new Error('autodiff: only exact (erf) Gelu is supported');
  const { g } = c;
  const dt = inI(c, 0).dtype;
  const x = inV(c, 0);
  const cdf = g.mul(scalarOf(g, dt, 0.5), g.add(scalarOf(g, dt, 1), g.op1('Erf', [g.mul(x, scalarOf(g, dt, Math.SQRT1_2))])));
  const pdf = g.mul(g.op1('Exp', [g.mul(g.mul(x, x), scalarOf(g, dt, -0.5))]), scalarOf(g, dt, 1 / Math.sqrt(2 * Math.PI)));
  return [g.mul(one(dy), g.add(cdf, g.mul(x, pdf)))];
}

function softmaxRule(c: RuleContext, dy: (Value | null)[]): (Value | null)[] {
  const { g } = c;
  const axis = norm(attrInt(c.node, 'axis', -1), rankOf(c, 0));
  const y = outV(c);
  const s = g.op1('ReduceSum', [g.mul(one(dy), y), g.constI64([axis])], { keepdims: 1 });
  return [g.mul(y, g.op1('Sub', [one(dy), s]))];
}

function logSoftmaxRule(c: RuleContext, dy: (Value | null)[]): (Value | null)[] {
  const { g } = c;
  const axis = norm(attrInt(c.node, 'axis', -1), rankOf(c, 0));
  const s = g.op1('ReduceSum', [one(dy), g.constI64([axis])], { keepdims: 1 });
  return [g.op1('Sub', [one(dy), g.mul(g.op1('Exp', [outV(c)]), s)])];
}

/** RoPE rotates each (j, j + d/2) pair by θ; its transpose rotates by −θ: the same op with −sin. */
function rotaryRule(c: RuleContext, dy: (Value | null)[]): (Value | null)[] {
  if (c.node.inputs.length > 3 && c.node.inputs[3]) throw new Error('autodiff: RotaryEmbedding with position_ids is not supported');
  const { g } = c;
  const negSin = g.op1('Neg', [inV(c, 2)]);
  const dx = g.op1(c.node.opType, [one(dy), inV(c, 1), negSin], c.node.attrs, c.node.domain);
  return [dx, null, null];
}

function concatRule(c: RuleContext, dy: (Value | null)[]): (Value | null)[] {
  const { g } = c;
  const r = rankOf(c, 0);
  const axis = norm(attrInt(c.node, 'axis', 0), r);
  const dims = c.node.inputs.map((_, i) => inI(c, i).shape[axis]!);
  const sizes = dims.every((d) => typeof d === 'number')
    ? g.constI64(dims as number[])
    : g.concat(c.node.inputs.map((_, i) => g.shape(inV(c, i), axis, axis + 1)), 0);
  return g.op('Split', [one(dy), sizes], { axis }, { outputs: c.node.inputs.length });
}

function splitRule(c: RuleContext, dy: (Value | null)[]): (Value | null)[] {
  const { g } = c;
  const axis = norm(attrInt(c.node, 'axis', 0), rankOf(c, 0));
  const parts = c.node.outputs.map((o, i) => dy[i] ?? zerosLike(g, { name: o }, outI(c, i)));
  return [g.concat(parts, axis), null];
}

/** Slice steps 1: the gradient is the output gradient padded back with zeros. */
function sliceRule(c: RuleContext, dy: (Value | null)[]): (Value | null)[] {
  const { g } = c;
  const xi = inI(c, 0);
  const r = xi.shape.length;
  const starts = inI(c, 1).ints as number[];
  const ends = inI(c, 2).ints as number[];
  const axes = c.node.inputs[3] ? (inI(c, 3).ints as number[]).map((a) => norm(a, r)) : starts.map((_, i) => i);
  const before: (number | Value)[] = Array(r).fill(0);
  const after: (number | Value)[] = Array(r).fill(0);
  axes.forEach((a, i) => {
    const dim = xi.shape[a]!;
    const s = starts[i]!;
    const e = ends[i]!;
    if (typeof dim === 'number') {
      const cs = Math.min(Math.max(s < 0 ? s + dim : s, 0), dim);
      const ce = Math.min(Math.max(e < 0 ? e + dim : e, 0), dim);
      before[a] = cs;
      after[a] = dim - Math.max(ce, cs);
    } else if (s >= 0 && (e >= 2 ** 31 - 1 || e >= 0)) {
      before[a] = s;
      after[a] = e >= 2 ** 31 - 1 ? 0 : g.op1('Sub', [g.shape(inV(c, 0), a, a + 1), g.constI64([e])]);
    } else {
      throw new Error(`autodiff: Slice of a symbolic axis with negative bounds`);
    }
  });
  const all = [...before, ...after];
  const pads = all.every((p) => typeof p === 'number')
    ? g.constI64(all as number[])
    : g.concat(all.map((p) => (typeof p === 'number' ? g.constI64([p]) : p)), 0);
  return [g.op1('Pad', [one(dy), pads]), null, null, null, null];
}

/**
 * Conv as the patch embedding uses it (2-D, kernel = strides, no padding, dilation 1, group 1): each
 * output pixel is one patch · Wᵀ, so the rule is the linear layer's on patches
 * x [N, C, gh·k, gw·k] → P [N·gh·gw, C·k·k]: dW = dyᵀ·P, db = Σ dy, dx = patches of dy·W put back.
 */
function patchConvRule(c: RuleContext, dy: (Value | null)[]): (Value | null)[] {
  const { g } = c;
  const xi = inI(c, 0);
  const wi = inI(c, 1);
  const [O, C, kh, kw] = wi.shape as number[];
  const kernel = attrInts(c.node, 'kernel_shape') ?? [kh!, kw!];
  const strides = attrInts(c.node, 'strides') ?? [1, 1];
  const pads = attrInts(c.node, 'pads') ?? [0, 0, 0, 0];
  const dil = attrInts(c.node, 'dilations') ?? [1, 1];
  const [H, W] = xi.shape.slice(2) as number[];
  if (xi.shape.length !== 4 || attrInt(c.node, 'group', 1) !== 1 || kernel[0] !== strides[0] || kernel[1] !== strides[1] || pads.some((p) => p !== 0) || dil.some((d) => d !== 1)
    || typeof H !== 'number' || typeof W !== 'number' || H % kh! || W % kw!) {
    throw new Error('autodiff: only non-overlapping 2-D Conv (kernel = strides, no padding, group 1) has a gradient rule');
  }
  const gh = H / kh!;
  const gw = W / kw!;
  const dt = xi.dtype;
  const K = C! * kh! * kw!;
  const d = one(dy); // [N, O, gh, gw]
  const dRows = g.reshape(g.transpose(d, [0, 2, 3, 1]), [-1, O!]); // [N·gh·gw, O]
  const wRows = g.reshape(inV(c, 1), [O!, K]);
  const out: (Value | null)[] = [null, null, null];
  if (c.wants(0)) {
    const p = matmulT(g, dt, dRows, 2, wRows, 2, false, false); // [N·gh·gw, K]
    const x6 = g.transpose(g.reshape(p, [-1, gh, gw, C!, kh!, kw!]), [0, 3, 1, 4, 2, 5]);
    out[0] = g.op1('Reshape', [x6, shapeOf(g, inV(c, 0), xi)]);
  }
  if (c.wants(1)) {
    const patches = g.reshape(g.transpose(g.reshape(inV(c, 0), [0, C!, gh, kh!, gw, kw!]), [0, 2, 4, 1, 3, 5]), [-1, K]);
    out[1] = g.reshape(matmulT(g, dt, dRows, 2, patches, 2, true, false), [O!, C!, kh!, kw!]);
  }
  if (needs(c, 2) && c.wants(2)) out[2] = g.op1('ReduceSum', [dRows, g.constI64([0])], { keepdims: 0 });
  return out;
}

/** Scatter-add of the output gradient into zeros shaped like the gathered tensor. */
function gatherRule(c: RuleContext, dy: (Value | null)[]): (Value | null)[] {
  const { g } = c;
  const xi = inI(c, 0);
  const ii = inI(c, 1);
  const r = xi.shape.length;
  const axis = norm(attrInt(c.node, 'axis', 0), r);
  let d = one(dy);
  let idx = inV(c, 1);
  let q = ii.shape.length;
  if (q === 0) {
    idx = g.op1('Unsqueeze', [idx, g.constI64([0])]);
    d = g.op1('Unsqueeze', [d, g.constI64([axis])]);
    q = 1;
  }
  // Bring the gathered axis to the front: dy axes [pre (axis), idx (q), post] → [idx, pre, post].
  const yr = r - 1 + q;
  const permY = [...Array.from({ length: q }, (_, i) => axis + i), ...Array.from({ length: axis }, (_, i) => i), ...Array.from({ length: yr - axis - q }, (_, i) => axis + q + i)];
  const permX = [axis, ...Array.from({ length: r }, (_, i) => i).filter((i) => i !== axis)];
  const inverse = permX.map((_, i) => permX.indexOf(i));
  const identity = (p: number[]) => p.every((v, i) => v === i);
  const dT = identity(permY) ? d : g.transpose(d, permY);
  const zeros = zerosLike(g, inV(c, 0), xi);
  const zT = identity(permX) ? zeros : g.transpose(zeros, permX);
  const sc = g.op1('ScatterND', [zT, g.op1('Unsqueeze', [idx, g.constI64([-1])]), dT], { reduction: 'add' });
  return [identity(permX) ? sc : g.transpose(sc, inverse), null];
}

function gatherElementsRule(c: RuleContext, dy: (Value | null)[]): (Value | null)[] {
  const { g } = c;
  const axis = attrInt(c.node, 'axis', 0);
  const zeros = zerosLike(g, inV(c, 0), inI(c, 0));
  return [g.op1('ScatterElements', [zeros, inV(c, 1), one(dy)], { axis, reduction: 'add' }), null];
}

function reduceSumRule(c: RuleContext, dy: (Value | null)[]): (Value | null)[] {
  const { g } = c;
  const xi = inI(c, 0);
  const keep = attrInt(c.node, 'keepdims', 1) === 1;
  const d = keep ? one(dy) : g.op1('Reshape', [one(dy), keepShape(c)]);
  return [g.op1('Expand', [d, shapeOf(g, inV(c, 0), xi)]), null];
}

/** ReduceSum's output shape with the reduced axes kept as 1. */
function keepShape(c: RuleContext): Value {
  const xi = inI(c, 0);
  const r = xi.shape.length;
  let axes = c.node.inputs[1] ? (inI(c, 1).ints as number[]) : (attrInts(c.node, 'axes') ?? []);
  if (axes.length === 0) axes = xi.shape.map((_, i) => i);
  const ax = axes.map((a) => norm(a, r));
  const dims = xi.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  if (dims.every((d) => typeof d === 'number')) return c.g.constI64(dims as number[]);
  return c.g.concat(dims.map((d, i) => (typeof d === 'number' ? c.g.constI64([d]) : c.g.shape(inV(c, 0), i, i + 1))), 0);
}

/**
 * com.microsoft MultiHeadAttention (q [B,S,D], k [B,L,D], v [B,L,Dv], no mask/bias): the forward is
 * recomputed per head, then the standard attention backward.
 */
function mhaRule(c: RuleContext, dy: (Value | null)[]): (Value | null)[] {
  if (c.node.inputs.slice(3).some(Boolean)) throw new Error('autodiff: MultiHeadAttention with bias/mask/past inputs is not supported');
  const { g } = c;
  const dt = inI(c, 0).dtype;
  const h = attrInt(c.node, 'num_heads', 1);
  const D = inI(c, 0).shape[2]!;
  if (typeof D !== 'number') throw new Error('autodiff: MultiHeadAttention with a symbolic hidden size');
  const scale = attrFloat(c.node, 'scale', 0) || 1 / Math.sqrt(D / h);
  const heads = (v: Value) => g.transpose(g.reshape(v, [0, 0, h, -1]), [0, 2, 1, 3]); // [B, h, S, hd]
  const merge = (v: Value) => g.reshape(g.transpose(v, [0, 2, 1, 3]), [0, 0, -1]);
  const q = heads(inV(c, 0));
  const k = heads(inV(c, 1));
  const v = heads(inV(c, 2));
  const p = g.softmax(matmulT(g, dt, q, 4, k, 4, false, true, scale), -1);
  const dO = heads(one(dy));
  const dV = c.wants(2) ? merge(matmulT(g, dt, p, 4, dO, 4, true, false)) : null;
  if (!c.wants(0) && !c.wants(1)) return [null, null, dV];
  const dP = matmulT(g, dt, dO, 4, v, 4, false, true);
  const dS = g.mul(p, g.op1('Sub', [dP, g.op1('ReduceSum', [g.mul(dP, p), g.constI64([-1])], { keepdims: 1 })]));
  const dQ = c.wants(0) ? merge(matmulT(g, dt, dS, 4, k, 4, false, false, scale)) : null;
  const dK = c.wants(1) ? merge(matmulT(g, dt, dS, 4, q, 4, true, false, scale)) : null;
  return [dQ, dK, dV];
}

function castRule(c: RuleContext, dy: (Value | null)[]): (Value | null)[] {
  const from = inI(c, 0).dtype;
  if (!['float32', 'float64', 'float16', 'bfloat16'].includes(from)) return [null];
  return [from === outI(c).dtype ? one(dy) : c.g.cast(one(dy), from)];
}

export const GRADIENT_RULES: Record<string, GradRule> = {
  Identity: (_c, dy) => [one(dy)],
  Cast: castRule,
  Neg: (c, dy) => [c.g.op1('Neg', [one(dy)])],
  Add: (c, dy) => [c.wants(0) ? toInput(c, one(dy), 0) : null, c.wants(1) ? toInput(c, one(dy), 1) : null],
  Sub: (c, dy) => [c.wants(0) ? toInput(c, one(dy), 0) : null, c.wants(1) ? toInput(c, c.g.op1('Neg', [one(dy)]), 1) : null],
  Mul: (c, dy) => [
    c.wants(0) ? toInput(c, c.g.mul(one(dy), inV(c, 1)), 0) : null,
    c.wants(1) ? toInput(c, c.g.mul(one(dy), inV(c, 0)), 1) : null,
  ],
  Div: (c, dy) => [
    c.wants(0) ? toInput(c, c.g.op1('Div', [one(dy), inV(c, 1)]), 0) : null,
    c.wants(1) ? toInput(c, c.g.op1('Neg', [c.g.mul(one(dy), c.g.op1('Div', [outV(c), inV(c, 1)]))]), 1) : null,
  ],
  Where: (c, dy) => {
    const zero = scalarOf(c.g, outI(c).dtype, 0);
    return [
      null,
      c.wants(1) ? toInput(c, c.g.op1('Where', [inV(c, 0), one(dy), zero]), 1) : null,
      c.wants(2) ? toInput(c, c.g.op1('Where', [inV(c, 0), zero, one(dy)]), 2) : null,
    ];
  },
  Sigmoid: (c, dy) => {
    const y = outV(c);
    return [c.g.mul(one(dy), c.g.mul(y, c.g.op1('Sub', [scalarOf(c.g, outI(c).dtype, 1), y])))];
  },
  Gelu: geluRule,
  Softmax: softmaxRule,
  LogSoftmax: logSoftmaxRule,
  MatMul: matmulRule,
  FusedMatMul: matmulRule,
  RMSNormalization: rmsNormRule,
  SimplifiedLayerNormalization: rmsNormRule,
  LayerNormalization: layerNormRule,
  RotaryEmbedding: rotaryRule,
  MultiHeadAttention: mhaRule,
  Transpose: (c, dy) => {
    const r = rankOf(c, 0);
    const perm = attrInts(c.node, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    return [c.g.transpose(one(dy), perm.map((_, i) => perm.indexOf(i)))];
  },
  Reshape: (c, dy) => [reshapeLike(c, one(dy), 0), null],
  Squeeze: (c, dy) => [reshapeLike(c, one(dy), 0), null],
  Unsqueeze: (c, dy) => [reshapeLike(c, one(dy), 0), null],
  Expand: (c, dy) => [toInput(c, one(dy), 0), null],
  Concat: concatRule,
  Split: splitRule,
  Slice: sliceRule,
  Gather: gatherRule,
  GatherElements: gatherElementsRule,
  ReduceSum: reduceSumRule,
  Conv: patchConvRule,
};
