/**
 * Copies one built graph into another (the inference graphs become parts of a training graph
 * without a second copy of the model code): inputs are bound to values of the target graph, node
 * and constant names get a prefix, weight initializers keep their (checkpoint) names and are shared,
 * and two hooks let the caller substitute weights (trainable ones become graph inputs) and rewrite
 * node outputs (e.g. add a LoRA branch to a linear product).
 */
import type { GraphBuilder, Initializer, Value } from './builder.ts';

type GraphNode = ReturnType<GraphBuilder['listNodes']>[number];

export interface InlineContext {
  /** The target graph. */
  dst: GraphBuilder;
  /** The source name of the initializer behind a source value: itself, or through one Cast (bf16 → f32). */
  weightOf(srcValue: string): string | undefined;
  /** A source value's name in the target graph. */
  mapped(srcValue: string): Value;
}

export interface InlineOptions {
  /** Prefix for the source's node outputs and constants (weights keep their names). */
  prefix: string;
  /** Source graph input → value in the target graph (every source input must be bound). */
  inputs: Record<string, Value>;
  /** A target value to use instead of a source weight initializer (none = copy the initializer). */
  substitute?: (init: Initializer) => Value | undefined;
  /** After a node is copied: replacement values for some of its outputs (source names). */
  rewrite?: (node: GraphNode, ctx: InlineContext) => Record<string, Value> | undefined;
}

/** Inlines `src` into `dst`; returns the target values of src's declared outputs by output name. */
export function inlineGraph(dst: GraphBuilder, src: GraphBuilder, opts: InlineOptions): Record<string, Value> {
  const map = new Map<string, Value>();
  for (const i of src.listInputs()) {
    const v = opts.inputs[i.name];
    if (!v) throw new Error(`inline ${src.name}: input '${i.name}' is not bound`);
    map.set(i.name, v);
  }
  const existing = new Set(dst.listInitializers().map((i) => i.name));
  const initNames = new Set<string>();
  for (const init of src.listInitializers()) {
    initNames.add(init.name);
    const sub = opts.substitute?.(init);
    if (sub) {
      map.set(init.name, sub);
      continue;
    }
    const name = init.role === 'weight' ? init.name : `${opts.prefix}${init.name}`;
    if (!existing.has(name)) {
      dst.initializer({ ...init, name });
      existing.add(name);
    }
    map.set(init.name, { name });
  }

  const castOf = new Map<string, string>();
  const ctx: InlineContext = {
    dst,
    weightOf: (v) => (initNames.has(v) ? v : castOf.get(v)),
    mapped: (v) => map.get(v) ?? fail(src, v),
  };
  for (const node of src.listNodes()) {
    if (node.opType === 'Cast' && initNames.has(node.inputs[0]!)) castOf.set(node.outputs[0]!, node.inputs[0]!);
    const inputs = node.inputs.map((i) => (i ? ctx.mapped(i) : null));
    const outs = dst.op(node.opType, inputs, node.attrs, { domain: node.domain, outputNames: node.outputs.map((o) => `${opts.prefix}${o}`) });
    node.outputs.forEach((o, k) => map.set(o, outs[k]!));
    const repl = opts.rewrite?.(node, ctx);
    if (repl) for (const [k, v] of Object.entries(repl)) map.set(k, v);
  }
  const result: Record<string, Value> = {};
  for (const o of src.listOutputs()) result[o.name] = ctx.mapped(o.name);
  return result;
}

function fail(src: GraphBuilder, v: string): never {
  throw new Error(`inline ${src.name}: value '${v}' is used before it is defined`);
}
