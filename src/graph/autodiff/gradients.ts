/**
 * Reverse-mode autodiff over a GraphBuilder graph: appends the backward nodes to the same graph and
 * returns the gradient values of the requested tensors. Only nodes on a path from a requested
 * tensor to a seeded output get a backward; everything else (shape plumbing, masks, frozen
 * branches) stays forward-only.
 */
import type { GraphBuilder, Value } from '../builder.ts';
import { GRADIENT_RULES } from './rules.ts';
import { inferShapes, initializerInfo, type GraphNode, type ValueInfo } from './shapes.ts';
import { scalarOf, sumAll, zerosLike } from './emit.ts';

const FLOAT_TYPES = new Set<string>(['float32', 'float64', 'float16', 'bfloat16']);

export interface GradientRequest {
  /** Names of the tensors to differentiate with respect to (graph inputs, initializers or inner values). */
  wrt: readonly string[];
  /** Output value → its incoming gradient; a scalar loss can use `lossSeed`. */
  seeds: ReadonlyMap<string, Value>;
}

export interface GradientResult {
  /** wrt name → gradient value (zeros when the tensor does not reach any seed). */
  grads: Map<string, Value>;
  /** Dtype/shape of every forward value. */
  info: Map<string, ValueInfo>;
}

/** Dtype/shape of the graph's inputs, initializers and node outputs. */
export function graphInfo(g: GraphBuilder, nodes: readonly GraphNode[] = g.listNodes()): Map<string, ValueInfo> {
  const known = new Map<string, ValueInfo>();
  for (const i of g.listInputs()) {
    if (!i.dims) throw new Error(`autodiff: graph input '${i.name}' has no declared shape`);
    known.set(i.name, { dtype: i.dtype, shape: [...i.dims] });
  }
  for (const init of g.listInitializers()) known.set(init.name, initializerInfo(init));
  return inferShapes(nodes, known);
}

/** The seed of a scalar loss: d loss / d loss = 1. */
export function lossSeed(g: GraphBuilder, info: Map<string, ValueInfo>, loss: string): Map<string, Value> {
  const li = info.get(loss);
  if (!li) throw new Error(`autodiff: unknown loss value '${loss}'`);
  return new Map([[loss, scalarOf(g, li.dtype, 1)]]);
}

export function addGradients(g: GraphBuilder, req: GradientRequest, info?: Map<string, ValueInfo>): GradientResult {
  const nodes = [...g.listNodes()]; // snapshot: the rules append to the live list
  const vi = info ?? graphInfo(g, nodes);

  // Forward: float values that depend on a wrt tensor (shapes, indices and masks carry no gradient).
  const dependent = new Set(req.wrt);
  const isFloat = (name: string) => FLOAT_TYPES.has(vi.get(name)?.dtype ?? '');
  for (const n of nodes) {
    if (n.inputs.some((i) => i && dependent.has(i))) for (const o of n.outputs) if (isFloat(o)) dependent.add(o);
  }
  // Backward reachability: values from which a seeded output is reached.
  const reaches = new Set(req.seeds.keys());
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k]!;
    if (n.outputs.some((o) => reaches.has(o))) for (const i of n.inputs) if (i) reaches.add(i);
  }

  const wrtSet = new Set(req.wrt);
  const pending = new Map<string, Value[]>();
  const push = (name: string, v: Value) => {
    const list = pending.get(name);
    if (list) list.push(v);
    else pending.set(name, [v]);
  };
  for (const [name, v] of req.seeds) push(name, v);

  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k]!;
    const wanted = node.inputs.map((i) => Boolean(i) && dependent.has(i) && reaches.has(i));
    if (!wanted.some(Boolean)) continue;
    const dy = node.outputs.map((o) => {
      const list = pending.get(o);
      if (!list) return null;
      const total = sumAll(g, list)!;
      // A requested inner value keeps its (summed) gradient for the result.
      if (wrtSet.has(o)) pending.set(o, [total]);
      else pending.delete(o);
      return total;
    });
    if (dy.every((d) => d === null)) continue;
    const rule = GRADIENT_RULES[node.opType];
    if (!rule) throw new Error(`autodiff: no gradient rule for ${node.domain ? node.domain + '.' : ''}${node.opType} (node ${node.name})`);
    const dx = rule({ g, node, info: (name) => vi.get(name) ?? failInfo(name), wants: (i) => wanted[i] ?? false }, dy);
    node.inputs.forEach((name, i) => {
      if (!wanted[i]) return;
      const d = dx[i];
      if (!d) throw new Error(`autodiff: ${node.opType} gives no gradient for its input ${i} ('${name}')`);
      push(name, d);
    });
  }

  const grads = new Map<string, Value>();
  for (const w of req.wrt) {
    const list = pending.get(w);
    const wi = vi.get(w) ?? failInfo(w);
    grads.set(w, (list && sumAll(g, list)) ?? zerosLike(g, { name: w }, wi));
  }
  return { grads, info: vi };
}

function failInfo(name: string): never {
  throw new Error(`autodiff: no shape information for '${name}'`);
}
