/**
 * LoRA as the reference configures it (training.md §6, PEFT semantics): target module suffixes per
 * LLM family and for InternViT, alpha = 2r by default, scaling alpha / r, and PEFT's parameter names
 * (`language_model.base_model.model.<module>.lora_A.default.weight`). Like PEFT's module replacement,
 * the branch is attached to the built graph: every linear product x·Wᵀ whose weight belongs to a
 * target module gets `+ scaling · (dropout(x) · Aᵀ) · Bᵀ`.
 */
import { float, type GraphBuilder, type Value } from '../graph/builder.ts';
import type { InlineContext } from '../graph/inline.ts';
import type { LlmFamily } from './config.ts';

type GraphNode = ReturnType<GraphBuilder['listNodes']>[number];

export const LLM_LORA_TARGETS: Record<LlmFamily, readonly string[]> = {
  qwen2: ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'],
  internlm2: ['attention.wqkv', 'attention.wo', 'feed_forward.w1', 'feed_forward.w2', 'feed_forward.w3'],
  phi3: ['self_attn.qkv_proj', 'self_attn.o_proj', 'mlp.gate_up_proj', 'mlp.down_proj'],
};
export const VISION_LORA_TARGETS: readonly string[] = ['attn.qkv', 'attn.proj', 'mlp.fc1', 'mlp.fc2'];

export interface LoraSpec {
  rank: number;
  /** Default 2·rank (the reference scripts). */
  alpha?: number;
  /** Dropout on the branch input (reference default 0.05; 0 = off). */
  dropout?: number;
  /** Module name suffixes; default: the family's (or the ViT's) official targets. */
  targets?: readonly string[];
}

/** The wrapped part of the model and its prefix in the checkpoint ('language_model.' / 'vision_model.'). */
export type LoraScope = 'language_model' | 'vision_model';

export interface LoraModule {
  /** Checkpoint module name, e.g. `language_model.model.layers.0.self_attn.q_proj`. */
  module: string;
  /** PEFT parameter names of A [r, in] and B [out, r]. */
  a: string;
  b: string;
  inFeatures: number;
  outFeatures: number;
  rank: number;
  /** Name of the dropout-mask input when dropout is on: [same shape as the product's input]. */
  mask?: string;
}

export const loraScaling = (s: LoraSpec): number => (s.alpha ?? 2 * s.rank) / s.rank;

/** PEFT names: `<scope>.base_model.model.<rest of the module>.lora_{A,B}.default.weight`. */
export function peftNames(module: string): { a: string; b: string } {
  const dot = module.indexOf('.');
  const scope = module.slice(0, dot);
  const rest = module.slice(dot + 1);
  const base = `${scope}.base_model.model.${rest}`;
  return { a: `${base}.lora_A.default.weight`, b: `${base}.lora_B.default.weight` };
}

/** The checkpoint module a PEFT LoRA parameter belongs to, or undefined for other names. */
export function moduleOfPeftName(name: string): { module: string; part: 'A' | 'B' } | undefined {
  const m = /^(language_model|vision_model)\.base_model\.model\.(.+)\.lora_([AB])\.default\.weight$/.exec(name);
  return m ? { module: `${m[1]}.${m[2]}`, part: m[3] as 'A' | 'B' } : undefined;
}

/**
 * An inline rewrite hook that adds the LoRA branch to the products of target modules under `scope`.
 * `param(name, dims)` returns (declares once) the target-graph input of a LoRA parameter or mask;
 * the attached modules are appended to `modules`.
 */
export function loraRewrite(
  scope: LoraScope,
  spec: LoraSpec,
  targets: readonly string[],
  param: (name: string, dims: (number | string)[]) => Value,
  modules: LoraModule[],
  /** Dims of a dropout mask for a product input with `inF` features (the input's shape). */
  maskDims: (inF: number) => (number | string)[],
): (node: GraphNode, ctx: InlineContext) => Record<string, Value> | undefined {
  const scaling = loraScaling(spec);
  const dropout = spec.dropout ?? 0;
  return (node, ctx) => {
    if (node.opType !== 'FusedMatMul' || node.attrs.transB !== 1 || node.attrs.transA) return undefined;
    const w = ctx.weightOf(node.inputs[1]!);
    if (!w || !w.startsWith(`${scope}.`) || !w.endsWith('.weight')) return undefined;
    const module = w.slice(0, -'.weight'.length);
    if (!targets.some((t) => module.endsWith(`.${t}`))) return undefined;
    const shape = ctx.dst.listInitializers().find((i) => i.name === w)?.dims;
    if (!shape || shape.length !== 2) throw new Error(`LoRA: weight '${w}' is not a 2-D initializer`);
    const [outF, inF] = shape as [number, number];
    const { a, b } = peftNames(module);
    const lm: LoraModule = { module, a, b, inFeatures: inF, outFeatures: outF, rank: spec.rank };
    const g = ctx.dst;
    let x = ctx.mapped(node.inputs[0]!);
    if (dropout > 0) {
      lm.mask = `lora_mask.${module}`;
      x = g.mul(x, param(lm.mask, maskDims(inF)));
    }
    const xa = g.op1('FusedMatMul', [x, param(a, [spec.rank, inF])], { transB: 1 }, 'com.microsoft');
    const xb = g.op1('FusedMatMul', [xa, param(b, [outF, spec.rank])], { transB: 1, alpha: float(scaling) }, 'com.microsoft');
    modules.push(lm);
    const y = node.outputs[0]!;
    return { [y]: g.add(ctx.mapped(y), xb) };
  };
}

/**
 * The reference's merge (tools/merge_lora.py, training.md §10): W' = W + scaling · B · A for
 * W [out, in], A [r, in], B [out, r] (double accumulation, rounded once to float32).
 */
export function mergeLoraWeight(w: Float32Array, a: Float32Array, b: Float32Array, out: number, inF: number, scaling: number): Float32Array {
  const r = a.length / inF;
  if (!Number.isInteger(r) || w.length !== out * inF || b.length !== out * r) {
    throw new Error(`LoRA merge: shapes do not fit W [${out}, ${inF}], A ${a.length}, B ${b.length}`);
  }
  const merged = new Float32Array(w.length);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inF; i++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += b[o * r + k]! * a[k * inF + i]!;
      merged[o * inF + i] = w[o * inF + i]! + scaling * s;
    }
  }
  return merged;
}
