/**
 * Small dtype-aware building blocks the gradient rules share: constants in the value's dtype, shapes
 * as constants where static, matrix products with transposes, zeros, and the reduction of a
 * broadcast gradient back to its operand's shape.
 */
import type { GraphBuilder, Value, DType } from '../builder.ts';
import { float } from '../builder.ts';
import { broadcastAxes, isStatic, type Dim } from './dims.ts';
import type { ValueInfo } from './shapes.ts';

/** A tensor of `dtype` (float32, float64, or another type via a Cast that ORT folds). */
export function constOf(g: GraphBuilder, dtype: DType, values: number[], dims: number[] = [values.length]): Value {
  if (dtype === 'float32') return g.constF32(values, dims);
  if (dtype === 'float64') {
    const bytes = new Uint8Array(Float64Array.from(values).buffer);
    return g.initializer({ name: `const_f64_${g.listInitializers().length}_${g.listNodes().length}`, dtype, dims, data: { kind: 'raw', bytes }, role: 'constant' });
  }
  return g.cast(g.constF32(values, dims), dtype);
}

export const scalarOf = (g: GraphBuilder, dtype: DType, v: number): Value => constOf(g, dtype, [v], []);

/** The shape of `v` as an int64 vector: a constant when static, else a Shape node. */
export function shapeOf(g: GraphBuilder, v: Value, info: ValueInfo): Value {
  return isStatic(info.shape) ? g.constI64(info.shape, [info.shape.length]) : g.shape(v);
}

export function zerosLike(g: GraphBuilder, v: Value, info: ValueInfo): Value {
  return g.op1('Expand', [scalarOf(g, info.dtype, 0), shapeOf(g, v, info)]);
}

/** Swaps the last two axes. */
function swapLast(g: GraphBuilder, v: Value, rank: number): Value {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return g.transpose(v, perm);
}

/**
 * alpha · op(a) · op(b) with op = optional transpose of the last two axes: one FusedMatMul in
 * float32 (no transposed copies), Transpose + MatMul otherwise (FusedMatMul has no double kernel).
 */
export function matmulT(g: GraphBuilder, dtype: DType, a: Value, rankA: number, b: Value, rankB: number, tA: boolean, tB: boolean, alpha = 1): Value {
  if (dtype === 'float32') {
    const attrs: Record<string, number | { float: number }> = {};
    if (tA) attrs.transA = 1;
    if (tB) attrs.transB = 1;
    if (alpha !== 1) attrs.alpha = float(alpha);
    return g.op1('FusedMatMul', [a, b], attrs, 'com.microsoft');
  }
  const y = g.matMul(tA ? swapLast(g, a, rankA) : a, tB ? swapLast(g, b, rankB) : b);
  return alpha === 1 ? y : g.mul(y, scalarOf(g, dtype, alpha));
}

/** Sums `grad` (shape `gradShape`) over the axes along which `target` was broadcast, giving target's shape. */
export function reduceTo(g: GraphBuilder, grad: Value, gradShape: readonly Dim[], target: Value, targetInfo: ValueInfo): Value {
  const axes = broadcastAxes(targetInfo.shape, gradShape);
  const sameRank = targetInfo.shape.length === gradShape.length;
  if (axes.length === 0 && sameRank) return grad;
  const summed = axes.length ? g.op1('ReduceSum', [grad, g.constI64(axes)], { keepdims: 1 }) : grad;
  return sameRank ? summed : g.op1('Reshape', [summed, shapeOf(g, target, targetInfo)]);
}

/** Sum of gradient contributions (null when there are none). */
export function sumAll(g: GraphBuilder, xs: Value[]): Value | null {
  if (xs.length === 0) return null;
  return xs.reduce((acc, x) => g.add(acc, x));
}
