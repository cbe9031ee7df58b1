// Roofline references for bench/engine.ts: bare ORT graphs that do ONLY the dense work of one of our
// graphs — every weight matmul (same weights, read from the same checkpoint bytes, same bf16→f32 folding
// and prepacking) plus the attention matmuls at the same shapes — and nothing else (no norms,
// activations, softmax, residuals, copies). Timed in the same process as our graphs, so machine load
// hits both alike. Compute-bound shapes (vision, prefill) measure the machine's matmul rate; decode
// (one row) measures how fast the machine streams the same weight bytes.
import type { GraphBuilder, Value } from '../src/graph/builder.ts';
import { GraphBuilder as Builder } from '../src/graph/builder.ts';
import { GraphWeights, type WeightSource } from '../src/model/weights.ts';

export interface WeightMatmul {
  weight: string;
  /** [out, in] (PyTorch layout, used with transB). */
  shape: [number, number];
}

/**
 * The weight matmuls of a built graph, in graph order: FusedMatMul/MatMul/Gemm nodes whose second input
 * is a checkpoint initializer, directly or through the Cast that widens it. Model-agnostic.
 */
export function weightMatmuls(g: GraphBuilder): WeightMatmul[] {
  const inits = new Map(g.listInitializers().filter((i) => i.role === 'weight').map((i) => [i.name, i]));
  const castOf = new Map<string, string>();
  for (const n of g.listNodes()) if (n.opType === 'Cast' && inits.has(n.inputs[0]!)) castOf.set(n.outputs[0]!, n.inputs[0]!);
  const out: WeightMatmul[] = [];
  for (const n of g.listNodes()) {
    if (!['FusedMatMul', 'MatMul', 'Gemm'].includes(n.opType)) continue;
    const b = n.inputs[1]!;
    const name = inits.has(b) ? b : castOf.get(b);
    if (!name) continue;
    const dims = inits.get(name)!.dims;
    if (dims.length !== 2) continue;
    out.push({ weight: name, shape: [dims[0]!, dims[1]!] });
  }
  return out;
}

export interface AttentionShape {
  layers: number;
  /** Query heads grouped per KV head: scores are [kvHeads, group·queries, keys]. */
  kvHeads: number;
  group: number;
  headDim: number;
}

/**
 * Reference graph. Inputs: `x_<width>` [rows, width] for every input width the weights need, and for
 * attention `att_q` [kvHeads, group·Q, d], `att_k`, `att_v` [kvHeads, T, d] (read in place by every
 * layer, as a head-major cache would be; a KV head's query rows are the M of one product). Weights are chained where widths allow so few
 * intermediates stay alive; results nothing consumes become (unfetched) outputs — ORT runs every
 * node whatever is fetched (checked: run time is the same).
 */
export function referenceGraph(
  src: WeightSource,
  mms: WeightMatmul[],
  att?: AttentionShape,
  /** A weight applied to its own one-row input `x_head` [1, in] (the LM head: logits of the last position only). */
  head?: string,
): { graph: Builder; inputs: number[] } {
  const g = new Builder('roofline_reference');
  const w = new GraphWeights(g, src);
  const current = new Map<number, { v: Value; used: boolean }>();
  const inputs: number[] = [];
  let n = 0;
  const retire = (width: number) => {
    const c = current.get(width);
    if (c && !c.used) g.output(c.v, `unused_${n++}`, 'float32');
  };
  for (const mm of mms) {
    const [out, inw] = mm.shape;
    if (mm.weight === head) {
      g.output(g.linear(g.input('x_head', 'float32', [1, inw]), w.get(mm.weight)), 'head', 'float32');
      continue;
    }
    let x = current.get(inw);
    if (!x) {
      x = { v: g.input(`x_${inw}`, 'float32', ['rows', inw]), used: false };
      current.set(inw, x);
      inputs.push(inw);
    }
    x.used = true;
    const y = g.linear(x.v, w.get(mm.weight));
    retire(out);
    current.set(out, { v: y, used: false });
  }
  for (const width of current.keys()) retire(width);
  if (att) {
    const q = g.input('att_q', 'float32', [att.kvHeads, 'GQ', att.headDim]);
    const k = g.input('att_k', 'float32', [att.kvHeads, 'T', att.headDim]);
    const v = g.input('att_v', 'float32', [att.kvHeads, 'T', att.headDim]);
    for (let i = 0; i < att.layers; i++) {
      const s = g.op1('FusedMatMul', [q, k], { transB: 1 }, 'com.microsoft');
      g.output(g.matMul(s, v), `attn_${i}`, 'float32');
    }
  }
  return { graph: g, inputs };
}
