/**
 * Activation recomputation (gradient checkpointing) for a training graph that ONNX Runtime runs as
 * one session. Without it every forward value the backward reads stays alive until the backward
 * reaches it (at 4096 tokens the attention probabilities alone are ~1 GB per decoder layer).
 *
 * The forward is cut into segments at the first data node of every ViT / decoder layer (a node fed
 * by the token/pixel stream that reads a `…layers.N.` tensor). The backward is built segment by
 * segment from the last one: the segment's forward nodes are copied with their incoming stream
 * values replaced by x' = x + z, where z is an exact 0 computed from every gradient the later segment
 * produced, its trainable tensors' included (exactZeroAfter). That data dependency (a) makes the copy
 * distinct for ORT's common-subexpression elimination (checked in its optimized model) and (b) lets
 * the copy run only once the later segment's backward is complete, whatever order ORT picks among
 * independent nodes: the original internals die after their forward use and each copy's within its
 * segment's backward (measured: peak RSS, bench/finetune-step.ts --recompute). The segment's gradients are generated through the copy (`addGradients` with
 * seeds on the copy's outputs), the gradients of its input values are passed on to the earlier
 * segment. Kept alive across the step: only the values crossing segment boundaries.
 *
 * The first segment (before layer 0's first node) and the last one (the last layer, head and loss,
 * whose backward starts right after its forward) are not copied. The gradients are the same
 * formulas on the same values in the same order as `addGradients` on the whole graph.
 */
import type { GraphBuilder, Value } from '../graph/builder.ts';
import { addGradients, type GraphNode, type ValueInfo } from '../graph/autodiff/index.ts';
import { scalarOf, sumAll, zerosLike } from '../graph/autodiff/emit.ts';

/** `…vision_model….layers.3.…` / `…language_model….layers.3.…` → 'vision_model:3' (the layer a tensor belongs to). */
const LAYER_TAG = /(vision_model|language_model)\..*?\blayers\.(\d+)\./;
const FLOAT = new Set(['float32', 'float64', 'float16', 'bfloat16']);
export const RECOMPUTE_PREFIX = 'recompute/';

export interface RecomputeRequest {
  /** Graph inputs (or values) to differentiate, as for `addGradients`. */
  wrt: readonly string[];
  /** The scalar loss value. */
  loss: string;
}

/** Forward cut positions (node indices, ascending): the first stream node of each layer. */
export function layerCuts(g: GraphBuilder, nodes: readonly GraphNode[]): number[] {
  const tagOf = new Map<string, string>();
  const stream = new Set<string>();
  for (const i of g.listInputs()) {
    const m = LAYER_TAG.exec(i.name);
    if (m) tagOf.set(i.name, `${m[1]}:${m[2]}`);
    else if (i.dims?.some((d) => typeof d === 'string')) stream.add(i.name); // data: symbolic dims
  }
  for (const init of g.listInitializers()) {
    const m = LAYER_TAG.exec(init.name);
    if (m) tagOf.set(init.name, `${m[1]}:${m[2]}`);
  }
  const firstAt = new Map<string, number>();
  nodes.forEach((n, k) => {
    const tags = n.inputs.map((i) => tagOf.get(i)).filter((t): t is string => Boolean(t));
    if (n.inputs.some((i) => stream.has(i))) {
      for (const o of n.outputs) stream.add(o);
      for (const t of tags) if (!firstAt.has(t)) firstAt.set(t, k);
    } else if (tags.length) {
      for (const o of n.outputs) tagOf.set(o, tags[0]!); // weight-side (e.g. the bf16 → f32 Cast)
    }
  });
  return [...new Set(firstAt.values())].filter((k) => k > 0).sort((a, b) => a - b);
}

/**
 * Appends the backward of `req.loss` to `g` with per-layer recomputation; returns wrt name →
 * gradient (as `addGradients(...).grads`). `info`: dtype/shape of every forward value.
 */
export function addRecomputedGradients(g: GraphBuilder, req: RecomputeRequest, info: Map<string, ValueInfo>): Map<string, Value> {
  const nodes = [...g.listNodes()];
  const cuts = layerCuts(g, nodes);
  const bounds = [0, ...cuts, nodes.length];
  const producer = new Map<string, number>();
  nodes.forEach((n, k) => n.outputs.forEach((o) => producer.set(o, k)));
  const segmentOf = (k: number) => {
    let s = 0;
    while (bounds[s + 1]! <= k) s++;
    return s;
  };
  // A trainable tensor read by two segments would let one segment's backward run into another's
  // original forward (and count it twice): refuse rather than compute something else.
  const globalWrt = new Set(req.wrt);
  const readBy = new Map<string, number>();
  nodes.forEach((n, k) => {
    for (const i of n.inputs) {
      if (!globalWrt.has(i)) continue;
      const s = segmentOf(k);
      const prev = readBy.get(i);
      if (prev !== undefined && prev !== s) throw new Error(`recompute: trainable '${i}' is read by layer segments ${prev} and ${s}`);
      readBy.set(i, s);
    }
  });
  // Float values that depend on a trainable tensor (only they carry gradients).
  const dependent = new Set(req.wrt);
  for (const n of nodes) if (n.inputs.some((i) => dependent.has(i))) for (const o of n.outputs) if (FLOAT.has(info.get(o)?.dtype ?? '')) dependent.add(o);
  const stream = streamValues(g, nodes);

  const acc = new Map<string, Value[]>([[req.loss, [scalarOf(g, info.get(req.loss)!.dtype, 1)]]]);
  const result = new Map<string, Value[]>();
  const push = (m: Map<string, Value[]>, k: string, v: Value) => (m.get(k) ?? m.set(k, []).get(k)!).push(v);
  let later: Value[] = []; // every gradient the later segment produced: what the copy waits for

  for (let s = bounds.length - 2; s >= 0; s--) {
    const seg = nodes.slice(bounds[s], bounds[s + 1]);
    const made = new Set(seg.flatMap((n) => n.outputs));
    const seeded = [...made].filter((v) => acc.has(v));
    if (seeded.length === 0) continue;
    // Nodes of the segment upstream of a seeded value, and the outside values they read.
    const up = new Set(seeded);
    for (let k = seg.length - 1; k >= 0; k--) if (seg[k]!.outputs.some((o) => up.has(o))) for (const i of seg[k]!.inputs) if (i) up.add(i);
    const boundary = [...up].filter((v) => !made.has(v) && (dependent.has(v) || globalWrt.has(v)));

    const perturbed = s > 0 && s < bounds.length - 2 ? boundary.filter((v) => producer.has(v) && stream.has(v)) : [];
    const copyOf = new Map<string, string>();
    if (perturbed.length) {
      const zero = exactZeroAfter(g, later.length ? later : seeded.flatMap((v) => acc.get(v)!));
      for (const v of perturbed) {
        const p = g.op('Add', [{ name: v }, zero], {}, { outputNames: [`${RECOMPUTE_PREFIX}${s}/${v}`] })[0]!;
        info.set(p.name, info.get(v)!);
        copyOf.set(v, p.name);
      }
      // Copy the nodes between the perturbed inputs and the seeded outputs.
      for (const n of seg) {
        if (!n.outputs.some((o) => up.has(o)) || !n.inputs.some((i) => copyOf.has(i))) continue;
        const outs = g.op(n.opType, n.inputs.map((i) => (i ? { name: copyOf.get(i) ?? i } : null)), n.attrs, { domain: n.domain, outputNames: n.outputs.map((o) => `${RECOMPUTE_PREFIX}${o}`) });
        n.outputs.forEach((o, k) => {
          const vi = info.get(o);
          if (vi) info.set(outs[k]!.name, vi);
          copyOf.set(o, outs[k]!.name);
        });
      }
    }
    const seeds = new Map(seeded.map((v) => [copyOf.get(v) ?? v, sumAll(g, acc.get(v)!)!] as const));
    for (const v of seeded) acc.delete(v);
    const wrt = boundary.map((v) => copyOf.get(v) ?? v);
    const { grads } = addGradients(g, { wrt, seeds }, info);
    later = [];
    boundary.forEach((v, k) => {
      const d = grads.get(wrt[k]!)!;
      later.push(d);
      if (globalWrt.has(v)) push(result, v, d);
      if (producer.has(v)) push(acc, v, d);
    });
  }

  const out = new Map<string, Value>();
  for (const w of req.wrt) out.set(w, sumAll(g, result.get(w) ?? []) ?? zerosLike(g, { name: w }, info.get(w)!));
  return out;
}

/** Values computed from the data inputs (declared with symbolic dims and no layer tag). */
function streamValues(g: GraphBuilder, nodes: readonly GraphNode[]): Set<string> {
  const stream = new Set(g.listInputs().filter((i) => !LAYER_TAG.test(i.name) && i.dims?.some((d) => typeof d === 'string')).map((i) => i.name));
  for (const n of nodes) if (n.inputs.some((i) => stream.has(i))) for (const o of n.outputs) stream.add(o);
  return stream;
}

/**
 * An exact float32 scalar 0 that ORT can only compute after every value of `after`: their first
 * elements, compared with 0 (a bool, so no gradient flows back and no NaN or ∞ can leak), cast to
 * 0/1, times 0, summed. Nothing here is a constant ORT could fold.
 */
function exactZeroAfter(g: GraphBuilder, after: Value[]): Value {
  const firsts = after.map((v) => g.slice(g.reshape(v, [-1]), [0], [1], [0]));
  const flags = g.op1('Equal', [firsts.length === 1 ? firsts[0]! : g.concat(firsts, 0), g.constF32([0], [])]);
  return g.op1('ReduceSum', [g.mul(g.cast(flags, 'float32'), g.constF32([0], []))], { keepdims: 0 });
}
