/**
 * Run precisions and what each one stores. fp32 uses the checkpoint's tensors in place (bf16 widened
 * by folded Casts); the others are converted once into the weight cache (weight-cache.ts):
 *   fp16  every float tensor of the vision and decoder graphs stored as float16 (for GPU work; on the
 *         CPU the Casts fold back to float32, so no speed is expected)
 *   int8  linear weights as 8-bit MatMulNBits blocks, everything else as stored
 *   int4  linear weights as 4-bit blocks, the LLM head as 8-bit (see LM_HEAD_BITS)
 */
import { fail } from '../errors.ts';
import type { QuantBits } from './quantize.ts';

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
 * decode within the noise of this shared machine); the head at 8 bits under int4, since it is the one
 * matrix whose error reaches the logits directly.
 */
export interface QuantPolicy {
  blockSize: number;
  /** Bits of the LLM output matrix (lm_head / tied embedding); null keeps it as stored (bf16 → f32). */
  lmHeadBits: QuantBits | null;
}

export function defaultQuantPolicy(p: Precision): QuantPolicy {
  return { blockSize: 32, lmHeadBits: p === 'int4' ? 8 : linearBits(p) };
}
