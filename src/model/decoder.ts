/**
 * One decoder core for Qwen2 / InternLM2 / Phi-3 (architecture.md §7–§8), family differences taken
 * from families.ts. Shaped for KV-cached generation:
 *
 * inputs   inputs_embeds [B, S, H] f32      (token embeddings with image rows already merged)
 *          rope_cos, rope_sin [B, S, d] f32  (computed in TypeScript per call and sequence: rope.ts)
 *          past_key_{i}, past_value_{i} [B, KVH, C, d] f32   (head-major cache buffers of capacity C,
 *                                            K after rotary; only the first P_b rows of sequence b are valid)
 *          past_mask [B, C] f32              (additive: 0 for the P_b valid rows, −inf after them)
 *          logits_positions [K] int64        (rows of the S new positions to produce logits for)
 * outputs  logits [B, K, V]
 *          present_key_{i}, present_value_{i} [B, KVH, S, d]   (only this call's new keys/values)
 *          hidden_states [L+1, K, H]         (debug, B = 1: embeddings, each layer's output, the last one
 *                                             replaced by the final norm — HF's convention)
 *
 * The batch dimension B carries independent sequences (continuous batching: several decode steps in
 * one call, each with its own positions, cache length and mask); a single sequence is B = 1, and then
 * every node computes exactly what the batch-free graph did (the extra leading 1 changes no kernel).
 *
 * Why the past is fed as whole head-major buffers (measured on the 1B decoder): the JS-held cache
 * goes in zero-copy, already in the [KVH, T, d] layout the attention products want. The earlier
 * sequence-major past needed a Transpose of the whole cache in every layer besides the Concat with
 * the new rows (in-process A/B, decode step at 4k context: 118 → 105 ms median; 1k: within noise).
 * Capacity rows past the valid P are masked (the cache grows in steps, see kv-cache.ts).
 */
import { GraphBuilder, float, type Value } from '../graph/builder.ts';
import { DataType } from '../graph/onnx-proto.ts';
import type { ModelConfig } from './config.ts';
import { familySpec, type LayerNames } from './families.ts';
import { GraphWeights, type WeightSource } from './weights.ts';

export const DECODER_INPUTS = { embeds: 'inputs_embeds', cos: 'rope_cos', sin: 'rope_sin', pastMask: 'past_mask', logitsPositions: 'logits_positions', segmentIds: 'segment_ids' } as const;
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
  /**
   * Add a `segment_ids` [S] int64 input: new row i then sees new row j only when j ≤ i and both carry
   * the same id (a packed sequence, training.md §5.2: no attention across its samples). Off in the
   * inference graphs, which stay exactly as they were.
   */
  segmentIds?: boolean;
  /**
   * Element type of the past inputs and present outputs (default float32). float16 halves the JS-held
   * cache: the past is widened by one Cast per input, the new rows rounded on output; attention runs
   * in float32 and the current call's own rows are used unrounded.
   */
  kvDtype?: 'float32' | 'float16';
}

export function buildDecoderGraph(cfg: ModelConfig, src: WeightSource, opts: DecoderGraphOptions = {}): GraphBuilder {
  const llm = cfg.llm;
  const fam = familySpec(llm);
  const g = new GraphBuilder('minivl_decoder');
  const w = new GraphWeights(g, src);
  const H = llm.hiddenSize;
  const d = llm.headDim;
  const KVH = llm.numKvHeads;

  const embeds = g.input(DECODER_INPUTS.embeds, 'float32', ['B', 'S', H]);
  const cos = g.input(DECODER_INPUTS.cos, 'float32', ['B', 'S', d]);
  const sin = g.input(DECODER_INPUTS.sin, 'float32', ['B', 'S', d]);
  const kvDtype = opts.kvDtype ?? 'float32';
  const pastInput = (name: string) => {
    const v = g.input(name, kvDtype, ['B', KVH, 'C', d]);
    return kvDtype === 'float32' ? v : g.cast(v, 'float32');
  };
  const pastK: Value[] = [];
  const pastV: Value[] = [];
  for (let i = 0; i < llm.numLayers; i++) {
    pastK.push(pastInput(pastKeyName(i)));
    pastV.push(pastInput(pastValueName(i)));
  }
  const pastMask = g.input(DECODER_INPUTS.pastMask, 'float32', ['B', 'C']);
  const logitsPos = g.input(DECODER_INPUTS.logitsPositions, 'int64', ['K']);

  // Shared per call: the rotary tables as RotaryEmbedding wants them ([B, S, d/2]: the two halves of
  // a rotate_half row are equal), and the causal mask of the new rows among themselves [S, S].
  const rope = { cos: g.slice(cos, [0], [d / 2], [2]), sin: g.slice(sin, [0], [d / 2], [2]) };
  const segments = opts.segmentIds ? g.input(DECODER_INPUTS.segmentIds, 'int64', ['S']) : null;
  const att = attentionMask(g, cfg, pastMask, segments ? blockCausalMask(g, segments) : causalMask(g, embeds));

  let x = embeds;
  // Debug rows only in debug graphs: ORT runs unused nodes too (checked: the unused Gathers ran).
  const debug = opts.debugOutputs ?? false;
  const hidden: Value[] = debug ? [g.gather(x, logitsPos, 1)] : [];
  for (let i = 0; i < llm.numLayers; i++) {
    const names = fam.layer(i);
    const h = g.rmsNorm(x, w.get(names.attnNorm, [H]), llm.rmsNormEps);
    const { q, k, v } = qkvProjection(g, w, cfg, names, h);
    const qr = rotary(g, q, rope, llm.numHeads);
    // New keys/values head-major [B, KVH, S, d]: the layout of the cache they are appended to.
    // (Named as the outputs directly: no Identity node per output.)
    const headMajor = (t: Value, name: string) => {
      const hm = (outputNames?: string[]) => g.op('Transpose', [g.reshape(t, [0, -1, KVH, d])], { perm: [0, 2, 1, 3] }, { outputNames })[0]!;
      if (kvDtype === 'float32') return { value: hm([name]), output: null };
      const value = hm();
      return { value, output: g.op('Cast', [value], { to: DataType.float16 }, { outputNames: [name] })[0]! };
    };
    const kNew = headMajor(rotary(g, k, rope, KVH), presentKeyName(i));
    const vNew = headMajor(v, presentValueName(i));
    g.output(kNew.output ?? kNew.value, presentKeyName(i), kvDtype, ['B', KVH, 'S', d]);
    g.output(vNew.output ?? vNew.value, presentValueName(i), kvDtype, ['B', KVH, 'S', d]);
    const attn = attention(g, cfg, att, qr, g.concat([pastK[i]!, kNew.value], 2), g.concat([pastV[i]!, vNew.value], 2));
    const o = w.linear(attn, `${names.o}.weight`, [H, llm.numHeads * d], names.oBias ? `${names.o}.bias` : null);
    x = g.add(x, o);
    const h2 = g.rmsNorm(x, w.get(names.mlpNorm, [H]), llm.rmsNormEps);
    x = g.add(x, mlp(g, w, cfg, names, h2));
    if (debug && i < llm.numLayers - 1) hidden.push(g.gather(x, logitsPos, 1));
  }
  x = g.rmsNorm(x, w.get(fam.finalNorm, [H]), llm.rmsNormEps);
  const sel = g.gather(x, logitsPos, 1); // [B, K, H]: lm_head only where logits are asked for
  hidden.push(sel);
  const logits = w.linear(sel, opts.lmHead ?? fam.lmHead, [llm.vocabSize, H]);
  g.output(logits, LOGITS_OUTPUT, 'float32', ['B', 'K', llm.vocabSize]);
  if (debug) g.output(g.concat(hidden, 0), HIDDEN_STATES_OUTPUT, 'float32', [llm.numLayers + 1, 'K', H]);
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

/** Additive causal mask [S, S] of the new rows: new row i sees new rows 0..i. */
function causalMask(g: GraphBuilder, embeds: Value): Value {
  const S = g.op1('Squeeze', [g.shape(embeds, 1, 2), g.constI64([0])]);
  const pos = g.op1('Range', [g.constI64([0], []), S, g.constI64([1], [])]); // [S]
  const allowed = g.op1('LessOrEqual', [g.reshape(pos, [1, -1]), g.reshape(pos, [-1, 1])]);
  return g.op1('Where', [allowed, g.constF32([0], []), g.constF32([-Infinity], [])]);
}

/** Additive block-diagonal causal mask [S, S]: new row i sees new rows j ≤ i of its own segment. */
function blockCausalMask(g: GraphBuilder, segments: Value): Value {
  const S = g.shape(segments, 0, 1);
  const pos = g.op1('Range', [g.constI64([0], []), g.op1('Squeeze', [S, g.constI64([0])]), g.constI64([1], [])]); // [S]
  const causal = g.op1('LessOrEqual', [g.reshape(pos, [1, -1]), g.reshape(pos, [-1, 1])]);
  const same = g.op1('Equal', [g.reshape(segments, [1, -1]), g.reshape(segments, [-1, 1])]);
  const ninf = g.constF32([-Infinity], []);
  return g.op1('Where', [same, g.op1('Where', [causal, g.constF32([0], []), ninf]), ninf]);
}

/** q [B, S, NH·d], k/v [B, S, KVH·d]. Query head h uses KV head floor(h / group) in every family. */
function qkvProjection(g: GraphBuilder, w: GraphWeights, cfg: ModelConfig, names: LayerNames, h: Value) {
  const { hiddenSize: H, numHeads: NH, numKvHeads: KVH, headDim: d } = cfg.llm;
  const group = NH / KVH;
  const qkv = names.qkv;
  if (qkv.kind === 'separate') {
    const lin = (name: string, rows: number) => w.linear(h, `${name}.weight`, [rows, H], qkv.bias ? `${name}.bias` : null, 'normed');
    return { q: lin(qkv.q, NH * d), k: lin(qkv.k, KVH * d), v: lin(qkv.v, KVH * d) };
  }
  const rows = (NH + 2 * KVH) * d;
  const y = w.linear(h, `${qkv.w}.weight`, [rows, H], qkv.bias ? `${qkv.w}.bias` : null, 'normed');
  if (qkv.kind === 'packed') {
    const [q, k, v] = g.split(y, [NH * d, KVH * d, KVH * d], -1);
    return { q: q!, k: k!, v: v! };
  }
  // InternLM2: [.., KVH, group + 2, d] = per KV group: `group` query heads, its key head, its value head.
  // (Reshape's 0 keeps the input's dimension: B.)
  const y5 = g.reshape(y, [0, -1, KVH, group + 2, d]);
  const [q, k, v] = g.split(y5, [group, 1, 1], 3);
  return { q: g.reshape(q!, [0, -1, NH * d]), k: g.reshape(k!, [0, -1, KVH * d]), v: g.reshape(v!, [0, -1, KVH * d]) };
}

/**
 * rotate_half RoPE on x [B, S, heads·d] with cos/sin [B, S, d/2], as one opset-23 RotaryEmbedding
 * (same float32 math as x·cos + concat(−x₂, x₁)·sin, max abs diff 1.2e-7; ORT profile of a 1B
 * decode step: the six-node form's 240 nodes took ~1.5–2 ms, the 48 RotaryEmbedding nodes ~0.3 ms).
 */
function rotary(g: GraphBuilder, x: Value, rope: { cos: Value; sin: Value }, heads: number): Value {
  return g.op1('RotaryEmbedding', [x, rope.cos, rope.sin], { num_heads: heads, interleaved: 0 });
}

/** The additive mask of one call and the dynamic reshape targets that depend on T = C + S, built once per graph. */
interface AttentionMask {
  /** [B, 1, 1, S, T]: each sequence's past mask (capacity rows) beside the new rows' causal mask. */
  mask: Value;
  /** [B, KVH, G, −1, T]: scores [B, KVH, G·S, T] → [B, KVH, G, S, T] (to add the mask). */
  scores: Value;
  /** [B, KVH, −1, T]: probabilities back to [B, KVH, G·S, T]. */
  probs: Value;
}

function attentionMask(g: GraphBuilder, cfg: ModelConfig, pastMask: Value, causal: Value): AttentionMask {
  const { numHeads: NH, numKvHeads: KVH } = cfg.llm;
  const B = g.shape(pastMask, 0, 1);
  const S = g.shape(causal, 0, 1);
  const past = g.op1('Expand', [g.reshape(pastMask, [0, 1, -1]), g.concat([B, S, g.shape(pastMask, 1, 2)], 0)]); // [B, S, C]
  const newRows = g.op1('Expand', [causal, g.concat([B, S, S], 0)]); // [B, S, S]
  const mask = g.op1('Unsqueeze', [g.concat([past, newRows], -1), g.constI64([1, 2])]); // [B, 1, 1, S, T]
  const T = g.shape(mask, -1);
  return {
    mask,
    scores: g.concat([g.constI64([0, KVH, NH / KVH, -1]), T], 0),
    probs: g.concat([g.constI64([0, KVH, -1]), T], 0),
  };
}

/**
 * Causal GQA attention without repeating KV heads. k/v [B, KVH, T, d] (past capacity + new rows),
 * q [B, S, NH·d] (rotated) → [B, S, NH·d]. Per sequence and KV head, its `group` query heads × S rows form the M
 * rows of one product with that head's keys [T, d] (measured at 4k context: as a broadcast batch
 * dimension instead, ORT ran G separate one-row products that re-read the keys, ~10× slower than
 * the P·V product). Measured alternative: attending to the past and the new rows as two blocks joined
 * by a written-out softmax saves the Concat of keys/values, but decode was no faster (the concat
 * output stays in cache for the product) and a 512-row prefill chunk at 3.5k context took 8% longer
 * (ORT's Exp/Sub/ReduceMax passes are slower than its fused Softmax).
 */
function attention(g: GraphBuilder, cfg: ModelConfig, am: AttentionMask, q: Value, k: Value, v: Value): Value {
  const { numHeads: NH, numKvHeads: KVH, headDim: d } = cfg.llm;
  const group = NH / KVH;
  const qg = g.reshape(g.transpose(g.reshape(q, [0, -1, KVH, group, d]), [0, 2, 3, 1, 4]), [0, KVH, -1, d]); // [B, KVH, G·S, d]
  // Keys stay [.., T, d]: the product uses transB and folds the 1/sqrt(d) scale into alpha.
  const s = g.op1('FusedMatMul', [qg, k], { transB: 1, alpha: float(1 / Math.sqrt(d)) }, 'com.microsoft'); // [B, KVH, G·S, T]
  const p = g.softmax(g.add(g.op1('Reshape', [s, am.scores]), am.mask), -1); // [B, KVH, G, S, T]
  const o = g.reshape(g.matMul(g.op1('Reshape', [p, am.probs]), v), [0, KVH, group, -1, d]); // [B, KVH, G, S, d]
  return g.reshape(g.transpose(o, [0, 3, 1, 2, 4]), [0, -1, NH * d]);
}

function mlp(g: GraphBuilder, w: GraphWeights, cfg: ModelConfig, names: LayerNames, h: Value): Value {
  const { hiddenSize: H, intermediateSize: I } = cfg.llm;
  const m = names.mlp;
  let gate: Value;
  let up: Value;
  if (m.kind === 'separate') {
    gate = w.linear(h, `${m.gate}.weight`, [I, H], null, 'normed');
    up = w.linear(h, `${m.up}.weight`, [I, H], null, 'normed');
  } else {
    const gu = w.linear(h, `${m.gateUp}.weight`, [2 * I, H], null, 'normed');
    [gate, up] = g.split(gu, [I, I], -1) as [Value, Value];
  }
  return w.linear(g.mul(g.silu(gate), up), `${m.down}.weight`, [H, I]);
}
