/**
 * Run precisions and what each one stores. fp32 uses the checkpoint's tensors in place (bf16 widened
 * by folded Casts); the others are converted once into the weight cache (weight-cache.ts):
 *   fp16  every float tensor of the vision and decoder graphs stored as float16 (for GPU work; on the
 *         CPU the Casts fold back to float32, so no speed is expected)
 *   int8  linear weights as int8 per output channel: with per-row activation scales in the vision tower
 *         and for the LLM linears no norm feeds (o/down), on DynamicQuantizeMatMul for those a norm
 *         feeds; the LLM head as 8-bit MatMulNBits blocks; the rest as stored
 *   int4  the LLM's linear weights and head as 4-bit blocks, the vision tower as at int8
 */
import { fail } from '../errors.ts';
import type { QuantBits } from './quantize.ts';
import type { Device } from '../host/types.ts';

export const PRECISIONS = ['fp32', 'fp16', 'int8', 'int4'] as const;
export type Precision = (typeof PRECISIONS)[number];

export function parsePrecision(s: string, what = '--dtype'): Precision {
  if (!(PRECISIONS as readonly string[]).includes(s)) fail(`${what} must be one of ${PRECISIONS.join(', ')}, got '${s}'`);
  return s as Precision;
}

/** Weights a multi-row decoder call may run on instead of the model's own (ModelLoadOptions.prefillWeights). */
export const PREFILL_WEIGHTS = ['int8'] as const;
export type PrefillWeights = (typeof PREFILL_WEIGHTS)[number];

export function parsePrefillWeights(s: string, what = '--prefill-weights'): PrefillWeights {
  if (!(PREFILL_WEIGHTS as readonly string[]).includes(s)) fail(`${what} must be ${PREFILL_WEIGHTS.join(' or ')}, got '${s}'`);
  return s as PrefillWeights;
}

/** Bits of the linear weights per precision (null: not quantized). */
export function linearBits(p: Precision): QuantBits | null {
  return p === 'int8' ? 8 : p === 'int4' ? 4 : null;
}

/**
 * Quantization settings. Defaults chosen by measurement (README "Precisions"): blocks of 128 at both
 * widths (the common int4 group size; against 32: 1B int4 decode 35–40 → 47–57 tok/s, prefill 233–262 →
 * 305–336 tok/s, the 4B's int4 weights 0.75 → 0.59 B/param in ORT — prepacking keeps the float32 scales
 * twice and adds block sums, per block —, for logits rel-L2 0.38 → 0.45 at int4 and 4.8e-2 → 5.2e-2 at
 * int8 on the full-size random 1B; golden greedy at int8 still 12/12/12); the head at the precision's
 * bits (int4's 4-bit head: −17% decode bytes and −0.06 GiB for +0.008 logits rel-L2 on the full-size
 * random 1B); int8's LLM per channel where a norm feeds it (prefill ~300 → 440–470 tok/s, greedy still
 * 12/12 on the three golden models) and per channel with one activation scale per row for o/down (their
 * inputs are not normed; against 8-bit blocks: prefill 575 → 705 tok/s in bench/policy-ab.ts, full-size
 * logits rel-L2 5.8e-2 → 6.8e-2, golden greedy 12/12/12); the vision tower (both precisions) int8 per
 * channel with one activation scale per row (a tile is compute-bound: ~2.0 s against 2.9–3.6 s in
 * blocks; one scale per call, DynamicQuantizeMatMul, was ~7% faster but cost the golden greedy match:
 * internlm2 4/12, phi3 1/12).
 */
export interface QuantPolicy {
  blockSize: number;
  /** Bits of the LLM output matrix (lm_head / tied embedding); null keeps it as stored (bf16 → f32). */
  lmHeadBits: QuantBits | null;
  /** How the vision tower's (InternViT + mlp1) linears are stored and run. */
  visionForm: LinearForm;
  /** How the LLM's linears (all but its head, which is always in blocks) are stored and run. */
  llmForm: LinearForm;
}

/**
 * `blocks`: MatMulNBits at the precision's bits, block `blockSize`; `channels`: int8 per output channel
 * on DynamicQuantizeMatMul (MLAS u8s8 QGEMM; activations quantized per call with one scale per
 * tensor) whatever the precision's bits — ~2× faster than MatMulNBits at hundreds of rows (a ViT
 * tile's 1,025, a prefill chunk); `normed-channels`: channels for the linears a norm feeds (rows of
 * equal scale), blocks for the others; `rows`: the channels' int8 weights with one activation scale per
 * row (blocked QuantizeLinear + MatMulIntegerToFloat, the same QGEMM); `normed-channels-rows`: channels
 * where a norm feeds the linear, rows for the others (int8's default); `normed-channels-rotated`: as
 * normed-channels-rows, but the rows linears' inputs and weight columns rotated in Hadamard blocks first
 * (model/hadamard.ts: x·Wᵀ unchanged, a row's peaks spread over its block, so its one scale fits the
 * rest better) — opt-in: full-size logits rel-L2 5.9e-2 against rows' 6.8e-2, but the online rotation
 * (one MatMul per linear) takes prefill from 705 to 623 tok/s, and it flipped a near tie of the golden
 * phi3 (greedy 1/12).
 */
export const LINEAR_FORMS = ['blocks', 'channels', 'normed-channels', 'rows', 'normed-channels-rows', 'normed-channels-rotated'] as const;
export type LinearForm = (typeof LINEAR_FORMS)[number];

export function defaultQuantPolicy(p: Precision, device: Device = 'cpu'): QuantPolicy {
  // On WebGPU every linear is MatMulNBits blocks: DynamicQuantizeMatMul (the 'channels' form) has no
  // WebGPU kernel in ORT 1.30 (verbose placements: those nodes ran on the CPU).
  if (device === 'webgpu') return { blockSize: 32, lmHeadBits: linearBits(p), visionForm: 'blocks', llmForm: 'blocks' };
  return { blockSize: 128, lmHeadBits: linearBits(p), visionForm: 'rows', llmForm: p === 'int8' ? 'normed-channels-rows' : 'blocks' };
}
