/**
 * Run precisions and what each one stores. fp32 uses the checkpoint's tensors in place (bf16 widened
 * by folded Casts); the others are converted once into the weight cache (weight-cache.ts):
 *   fp16  every float tensor of the vision and decoder graphs stored as float16 (for GPU work; on the
 *         CPU the Casts fold back to float32, so no speed is expected)
 *   int8  linear weights as int8: per output channel (DynamicQuantizeMatMul) in the vision tower and
 *         for the LLM linears a norm feeds, 8-bit MatMulNBits blocks for the others; the rest as stored
 *   int4  the LLM's linear weights and head as 4-bit blocks, the vision tower int8 per channel
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

/** Bits of the linear weights per precision (null: not quantized). */
export function linearBits(p: Precision): QuantBits | null {
  return p === 'int8' ? 8 : p === 'int4' ? 4 : null;
}

/**
 * Quantization settings. Defaults chosen by measurement (README "Precisions"): block 32 for both
 * widths (llama.cpp's q4_0/q8_0 block, and the best accuracy; larger blocks measured no faster at
 * decode within the noise of this shared machine); the head at the precision's bits (int4's 4-bit
 * head: −17% decode bytes and −0.06 GiB for +0.008 logits rel-L2 on the full-size random 1B); int8's
 * LLM per channel where a norm feeds it (prefill ~300 → 440–470 tok/s, greedy still 12/12 on the three
 * golden models) and its vision tower in blocks (per-tensor activation scales in the ViT cost the
 * golden greedy match: internlm2 4/12, phi3 1/12 with channels); int4's vision tower per channel at
 * int8 (a tile is compute-bound: 1.6 s instead of 3.0–3.4 s, and more accurate than 4-bit blocks:
 * vit_embeds rel-L2 0.15 → 2.4e-2 on the full-size 1B, for ~0.1 GiB).
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
 * equal scale), blocks for the others.
 */
export type LinearForm = 'blocks' | 'channels' | 'normed-channels';

export function defaultQuantPolicy(p: Precision, device: Device = 'cpu'): QuantPolicy {
  // On WebGPU every linear is MatMulNBits blocks: DynamicQuantizeMatMul (the 'channels' form) has no
  // WebGPU kernel in ORT 1.30 (verbose placements: those nodes ran on the CPU).
  if (device === 'webgpu') return { blockSize: 32, lmHeadBits: linearBits(p), visionForm: 'blocks', llmForm: 'blocks' };
  return { blockSize: 32, lmHeadBits: linearBits(p), visionForm: p === 'int4' ? 'channels' : 'blocks', llmForm: p === 'int8' ? 'normed-channels' : 'blocks' };
}
