/**
 * One decoder core for Qwen2 / InternLM2 / Phi-3 (architecture.md §7–§8), family differences taken
 * from families.ts. Shaped for KV-cached generation:
 *
 * inputs   inputs_embeds [1, S, H] f32      (token embeddings with image rows already merged)
 *          rope_cos, rope_sin [S, d] f32     (computed in TypeScript per call: rope.ts)
 *          past_key_{i}, past_value_{i} [1, P, KVH, d] f32   (sequence-major, K after rotary; P may be 0)
 *          logits_positions [K] int64        (rows of the S new positions to produce logits for)
 * outputs  logits [1, K, V]
 *          present_key_{i}, present_value_{i} [1, S, KVH, d]   (only this call's new keys/values)
 *          hidden_states [L+1, K, H]         (debug: embeddings, each layer's output, the last one
 *                                             replaced by the final norm — HF's convention)
 *
 * Sequence-major past makes "the first P positions" one contiguous prefix of a max-length buffer,
 * so a JS-held cache is fed as zero-copy subarray views (ORT-NOTES.md).
 */
import { GraphBuilder, float, type Value } from '../graph/builder.ts';
import type { ModelConfig } from './config.ts';
import { familySpec, type LayerNames } from './families.ts';
import { GraphWeights, type WeightSource } from './weights.ts';

export const DECODER_INPUTS = { embeds: 'inputs_embeds', cos: 'rope_cos', sin: 'rope_sin', logitsPositions: 'logits_positions' } as const;
export const pastKeyName = (i: number) => `past_key_${i}`;
export const pastValueName = (i: number) => `past_value_${i}`;
export const presentKeyName = (i: number) => `present_key_${i}`;
export const presentValueName = (i: number) => `present_value_${i}`;
export const LOGITS_OUTPUT = 'logits';
export const HIDDEN_STATES_OUTPUT = 'hidden_states';

export interface DecoderGraphOptions {
  debugOutputs?: boolean;
  /** Output matrix to use instead of the family's head (the tied embedding when the head is absent). */
  lmHead?: string;
}

export function buildDecoderGraph(cfg: ModelConfig, src: WeightSource, opts: DecoderGraphOptions = {}): GraphBuilder {
  const llm = cfg.llm;
  const fam = familySpec(llm);
  const g = new GraphBuilder('minivl_decoder');
  const w = new GraphWeights(g, src);
  const H = llm.hiddenSize;
  const d = llm.headDim;
  const KVH = llm.numKvHeads;

  const embeds = g.input(DECODER_INPUTS.embeds, 'float32', [1, 'S', H]);
  const cos = g.input(DECODER_INPUTS.cos, 'float32', ['S', d]);
  const sin = g.input(DECODER_INPUTS.sin, 'float32', ['S', d]);
  const pastK: Value[] = [];
  const pastV: Value[] = [];
  for (let i = 0; i < llm.numLayers; i++) {
    pastK.push(g.input(pastKeyName(i), 'float32', [1, 'P', KVH, d]));
    pastV.push(g.input(pastValueName(i), 'float32', [1, 'P', KVH, d]));
  }
  const logitsPos = g.input(DECODER_INPUTS.logitsPositions, 'int64', ['K']);

  // Shared per call: cos/sin broadcast over heads, and the causal mask [S, P+S].
  const cos4 = g.reshape(cos, [1, -1, 1, d]);
  const sin4 = g.reshape(sin, [1, -1, 1, d]);
  const mask = causalMask(g, embeds, pastK[0]!);

  let x = embeds;
  const hidden: Value[] = [g.gather(x, logitsPos, 1)];
  for (let i = 0; i < llm.numLayers; i++) {
    const names = fam.layer(i);
    const h = g.rmsNorm(x, w.get(names.attnNorm, [H]), llm.rmsNormEps);
    const { q, k, v } = qkvProjection(g, w, cfg, names, h);
    const qr = rotary(g, q, cos4, sin4, d);
    const kr = rotary(g, k, cos4, sin4, d);
    g.output(kr, presentKeyName(i), 'float32', [1, 'S', KVH, d]);
    g.output(v, presentValueName(i), 'float32', [1, 'S', KVH, d]);
    const kAll = g.concat([pastK[i]!, kr], 1);
    const vAll = g.concat([pastV[i]!, v], 1);
    const attn = attention(g, cfg, qr, kAll, vAll, mask);
    const o = g.linear(attn, w.get(`${names.o}.weight`, [H, llm.numHeads * d]), names.oBias ? w.get(`${names.o}.bias`, [H]) : null);
    x = g.add(x, o);
    const h2 = g.rmsNorm(x, w.get(names.mlpNorm, [H]), llm.rmsNormEps);
    x = g.add(x, mlp(g, w, cfg, names, h2));
    if (i < llm.numLayers - 1) hidden.push(g.gather(x, logitsPos, 1));
  }
  x = g.rmsNorm(x, w.get(fam.finalNorm, [H]), llm.rmsNormEps);
  const sel = g.gather(x, logitsPos, 1); // [1, K, H]: lm_head only where logits are asked for
  hidden.push(sel);
  const logits = g.linear(sel, w.get(opts.lmHead ?? fam.lmHead, [llm.vocabSize, H]));
  g.output(logits, LOGITS_OUTPUT, 'float32', [1, 'K', llm.vocabSize]);
  if (opts.debugOutputs) g.output(g.concat(hidden, 0), HIDDEN_STATES_OUTPUT, 'float32', [llm.numLayers + 1, 'K', H]);
  return g;
}

/** The embedding lookup: `input_ids` [N] int64 → `embeds` [N, H]; gathers from the stored (bf16) table, then casts. */
export function buildEmbedGraph(cfg: ModelConfig, src: WeightSource): GraphBuilder {
  const g = new GraphBuilder('minivl_embed');
  const w = new GraphWeights(g, src);
  const table = w.raw(familySpec(cfg.llm).embed, [cfg.llm.vocabSize, cfg.llm.hiddenSize]);
  const ids = g.input('input_ids', 'int64', ['N']);
  let e = g.gather(table.value, ids, 0);
  if (table.dtype !== 'F32') e = g.cast(e, 'float32');
  g.output(e, 'embeds', 'float32', ['N', cfg.llm.hiddenSize]);
  return g;
}

/** Additive mask [S, P+S]: query i (absolute position P+i) sees keys 0..P+i. */
function causalMask(g: GraphBuilder, embeds: Value, past: Value): Value {
  const S = g.op1('Squeeze', [g.shape(embeds, 1, 2), g.constI64([0])]);
  const P = g.op1('Squeeze', [g.shape(past, 1, 2), g.constI64([0])]);
  const T = g.add(P, S);
  const one = g.constI64([1], []);
  const keys = g.op1('Range', [g.constI64([0], []), T, one]); // [T]
  const queries = g.op1('Range', [P, T, one]); // [S]
  const allowed = g.op1('LessOrEqual', [g.reshape(keys, [1, -1]), g.reshape(queries, [-1, 1])]);
  return g.op1('Where', [allowed, g.constF32([0], []), g.constF32([-Infinity], [])]);
}

/** q [1, S, NH, d], k/v [1, S, KVH, d]. Query head h uses KV head floor(h / group) in every family. */
function qkvProjection(g: GraphBuilder, w: GraphWeights, cfg: ModelConfig, names: LayerNames, h: Value) {
  const { hiddenSize: H, numHeads: NH, numKvHeads: KVH, headDim: d } = cfg.llm;
  const group = NH / KVH;
  const qkv = names.qkv;
  if (qkv.kind === 'separate') {
    const lin = (name: string, rows: number) => g.linear(h, w.get(`${name}.weight`, [rows, H]), qkv.bias ? w.get(`${name}.bias`, [rows]) : null);
    return {
      q: g.reshape(lin(qkv.q, NH * d), [1, -1, NH, d]),
      k: g.reshape(lin(qkv.k, KVH * d), [1, -1, KVH, d]),
      v: g.reshape(lin(qkv.v, KVH * d), [1, -1, KVH, d]),
    };
  }
  const rows = (NH + 2 * KVH) * d;
  const y = g.linear(h, w.get(`${qkv.w}.weight`, [rows, H]), qkv.bias ? w.get(`${qkv.w}.bias`, [rows]) : null);
  if (qkv.kind === 'packed') {
    const [q, k, v] = g.split(y, [NH * d, KVH * d, KVH * d], -1);
    return { q: g.reshape(q!, [1, -1, NH, d]), k: g.reshape(k!, [1, -1, KVH, d]), v: g.reshape(v!, [1, -1, KVH, d]) };
  }
  // InternLM2: [.., KVH, group + 2, d] = per KV group: `group` query heads, its key head, its value head.
  const y5 = g.reshape(y, [1, -1, KVH, group + 2, d]);
  const [q, k, v] = g.split(y5, [group, 1, 1], 3);
  return { q: g.reshape(q!, [1, -1, NH, d]), k: g.reshape(k!, [1, -1, KVH, d]), v: g.reshape(v!, [1, -1, KVH, d]) };
}

/** rotate_half RoPE: x·cos + concat(−x₂, x₁)·sin, cos/sin [1, S, 1, d]. */
function rotary(g: GraphBuilder, x: Value, cos: Value, sin: Value, d: number): Value {
  const [x1, x2] = g.split(x, [d / 2, d / 2], -1);
  const rot = g.concat([g.neg(x2!), x1!], -1);
  return g.add(g.mul(x, cos), g.mul(rot, sin));
}

/**
 * Causal GQA attention without repeating KV heads: queries are grouped per KV head
 * ([KVH, group, S, d]) and multiply the shared [KVH, 1, T, d] keys by batch broadcasting.
 * q [1, S, NH, d] (rotated), kAll/vAll [1, T, KVH, d], mask [S, T] → [1, S, NH·d].
 */
function attention(g: GraphBuilder, cfg: ModelConfig, q: Value, kAll: Value, vAll: Value, mask: Value): Value {
  const { numHeads: NH, numKvHeads: KVH, headDim: d } = cfg.llm;
  const group = NH / KVH;
  const qg = g.transpose(g.reshape(q, [-1, KVH, group, d]), [1, 2, 0, 3]); // [KVH, G, S, d]
  // Keys stay [.., T, d] (a transpose that moves whole d-rows is far cheaper than one to [d, T]);
  // the product uses transB and folds the 1/sqrt(d) scale into alpha.
  const k = g.transpose(kAll, [2, 0, 1, 3]); // [KVH, 1, T, d]
  const v = g.transpose(vAll, [2, 0, 1, 3]); // [KVH, 1, T, d]
  let scores = g.op1('FusedMatMul', [qg, k], { transB: 1, alpha: float(1 / Math.sqrt(d)) }, 'com.microsoft'); // [KVH, G, S, T]
  scores = g.add(scores, mask);
  const p = g.softmax(scores, -1);
  const o = g.matMul(p, v); // [KVH, G, S, d]
  return g.reshape(g.transpose(o, [2, 0, 1, 3]), [1, -1, NH * d]);
}

function mlp(g: GraphBuilder, w: GraphWeights, cfg: ModelConfig, names: LayerNames, h: Value): Value {
  const { hiddenSize: H, intermediateSize: I } = cfg.llm;
  const m = names.mlp;
  let gate: Value;
  let up: Value;
  if (m.kind === 'separate') {
    gate = g.linear(h, w.get(`${m.gate}.weight`, [I, H]));
    up = g.linear(h, w.get(`${m.up}.weight`, [I, H]));
  } else {
    const gu = g.linear(h, w.get(`${m.gateUp}.weight`, [2 * I, H]));
    [gate, up] = g.split(gu, [I, I], -1) as [Value, Value];
  }
  return g.linear(g.mul(g.silu(gate), up), w.get(`${m.down}.weight`, [H, I]));
}
