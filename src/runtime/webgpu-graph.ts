/**
 * Rewrites a graph for ONNX Runtime's WebGPU provider. Node placement measured with onnxruntime-node
 * 1.30 (verbose log, "Node placements"): every node of the minivl graphs gets a WebGPU kernel except
 * com.microsoft FusedMatMul (every linear layer and the attention scores: the CPU provider would run
 * them, with each activation crossing to host memory and back) and small int64 shape arithmetic, which
 * ORT keeps on the CPU on purpose. So FusedMatMul becomes MatMul (+ Transpose of B, + Mul by alpha);
 * a weight's Transpose folds into a transposed initializer when the session is created.
 * com.microsoft DynamicQuantizeMatMul (the CPU int8 'channels' form) has no WebGPU kernel either:
 * Model.load stores every linear as MatMulNBits blocks on WebGPU (which has a kernel), and reports it here otherwise.
 */
import type { GraphBuilder, Value } from '../graph/builder.ts';

type GraphNode = ReturnType<GraphBuilder['listNodes']>[number];

/** Ops minivl emits that have no WebGPU kernel in ORT 1.30 (shape arithmetic aside). */
const NO_WEBGPU_KERNEL = new Set(['com.microsoft:FusedMatMul', 'com.microsoft:DynamicQuantizeMatMul']);

/** Rank of each value where it follows from inputs, initializers and the ops minivl emits. */
function ranks(g: GraphBuilder): Map<string, number> {
  const r = new Map<string, number>();
  for (const i of g.listInputs()) if (i.dims) r.set(i.name, i.dims.length);
  const inits = new Map(g.listInitializers().map((i) => [i.name, i]));
  for (const i of inits.values()) r.set(i.name, i.dims.length);
  const sameAsInputs = new Set(['Cast', 'Identity', 'Add', 'Mul', 'Sub', 'Div', 'Concat', 'Softmax', 'Gelu', 'Sigmoid', 'LayerNormalization', 'RMSNormalization', 'Where', 'Split']);
  for (const n of g.listNodes()) {
    const known = n.inputs.map((x) => r.get(x)).filter((x): x is number => x !== undefined);
    let rank: number | undefined;
    if (n.opType === 'Transpose' && Array.isArray(n.attrs.perm)) rank = n.attrs.perm.length;
    else if (n.opType === 'Reshape') rank = inits.get(n.inputs[1]!)?.dims[0];
    else if (n.opType === 'MatMul' || n.opType === 'FusedMatMul') rank = known.length === 2 ? Math.max(...known) : undefined;
    else if (sameAsInputs.has(n.opType) && known.length > 0) rank = Math.max(...known);
    if (rank !== undefined) for (const o of n.outputs) r.set(o, rank);
  }
  return r;
}

/** FusedMatMul(A, B; transB, alpha) → MatMul(A, B or Bᵀ) · alpha, or null when it cannot be rewritten. */
function lowerFusedMatMul(g: GraphBuilder, n: GraphNode, [a, b]: Value[], rank: Map<string, number>): Value[] | null {
  const { transA = 0, transB = 0, transBatchA = 0, transBatchB = 0, alpha } = n.attrs as Record<string, number | { float: number } | undefined>;
  if (transA || transBatchA || transBatchB) return null;
  let rhs = b!;
  if (transB) {
    const rb = rank.get(b!.name);
    if (rb === undefined || rb < 2) return null;
    rhs = g.transpose(b!, [...Array.from({ length: rb - 2 }, (_, i) => i), rb - 1, rb - 2]);
  }
  const y = g.matMul(a!, rhs);
  const scale = typeof alpha === 'object' ? alpha.float : 1;
  return [scale === 1 ? y : g.mul(y, g.constF32([scale], []))];
}

/**
 * Rewrites `g` in place for the WebGPU provider; returns the op types (with counts) that still have no
 * WebGPU kernel, for the caller to say once.
 */
export function lowerForWebGpu(g: GraphBuilder): string[] {
  const rank = ranks(g);
  g.replaceNodes((n, inputs) => (n.domain === 'com.microsoft' && n.opType === 'FusedMatMul' ? lowerFusedMatMul(g, n, inputs, rank) : null));
  const left = new Map<string, number>();
  for (const n of g.listNodes()) {
    const key = `${n.domain}:${n.opType}`;
    if (NO_WEBGPU_KERNEL.has(key)) left.set(n.opType, (left.get(n.opType) ?? 0) + 1);
  }
  return [...left].map(([op, c]) => `${c} ${op}`);
}
