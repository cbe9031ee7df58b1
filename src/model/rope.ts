/**
 * Rotary tables per forward call, computed in TypeScript so the families' RoPE variants stay plain
 * data code (architecture.md §7.2, §8.2, §8.3). Values follow the reference's float32 arithmetic:
 * inv_freq and angles are rounded to float32 before cos/sin.
 */
import type { LlmConfig } from './config.ts';

export interface RopeTables {
  /** [S, headDim] row-major: [cos θ_0 … cos θ_{d/2−1}, cos θ_0 … cos θ_{d/2−1}] per position. */
  cos: Float32Array;
  sin: Float32Array;
}

const f32 = Math.fround;

function invFreq(base: number, d: number, ext?: readonly number[]): Float32Array {
  const out = new Float32Array(d / 2);
  for (let i = 0; i < d / 2; i++) {
    // torch: base ** (arange(0, d, 2).float() / d) in float32, then 1 / (ext · that).
    const pw = f32(Math.pow(base, f32((2 * i) / d)));
    out[i] = f32(1 / (ext ? f32(ext[i]! * pw) : pw));
  }
  return out;
}

export class Rope {
  /** InternLM2 dynamic NTK: the reference keeps the longest length seen (its cache only grows). */
  private ntkSeqLen = 0;

  constructor(readonly llm: LlmConfig) {}

  /**
   * Tables for `positions` (the S positions of this call). `seqLength` is the sequence length the
   * reference's forward call would see (cached + current; default: largest position + 1): Phi-3
   * picks its factor set from it and InternLM2's dynamic NTK its base. A prefill split into chunks
   * passes the whole prompt's length so every chunk rotates exactly as one big call would.
   */
  tables(positions: ArrayLike<number>, seqLength?: number): RopeTables {
    const d = this.llm.headDim;
    const S = positions.length;
    let maxPos = 0;
    for (let i = 0; i < S; i++) maxPos = Math.max(maxPos, positions[i]!);
    const { inv, mscale, divisor } = this.frequencies(seqLength ?? maxPos + 1);
    const half = d / 2;
    const cos = new Float32Array(S * d);
    const sin = new Float32Array(S * d);
    for (let s = 0; s < S; s++) {
      const p = f32(positions[s]! / divisor);
      for (let i = 0; i < half; i++) {
        const theta = f32(p * inv[i]!);
        const c = f32(f32(Math.cos(theta)) * mscale);
        const sn = f32(f32(Math.sin(theta)) * mscale);
        cos[s * d + i] = c;
        cos[s * d + half + i] = c;
        sin[s * d + i] = sn;
        sin[s * d + half + i] = sn;
      }
    }
    return { cos, sin };
  }

  private frequencies(seqLen: number): { inv: Float32Array; mscale: number; divisor: number } {
    const { ropeTheta: base, headDim: d, ropeScaling: rs, maxPositionEmbeddings: maxPos } = this.llm;
    switch (rs.type) {
      case 'none':
        return { inv: invFreq(base, d), mscale: 1, divisor: 1 };
      case 'linear':
        return { inv: invFreq(base, d), mscale: 1, divisor: rs.factor };
      case 'dynamic': {
        // Stateful like the reference: once a sequence longer than max_position_embeddings was seen,
        // the enlarged base stays for later (shorter) calls of the same model.
        this.ntkSeqLen = Math.max(this.ntkSeqLen, seqLen);
        const L = this.ntkSeqLen;
        if (L <= maxPos) return { inv: invFreq(base, d), mscale: 1, divisor: 1 };
        const newBase = base * Math.pow((rs.factor * L) / maxPos - (rs.factor - 1), d / (d - 2));
        return { inv: invFreq(newBase, d), mscale: 1, divisor: 1 };
      }
      case 'longrope': {
        // Factor set chosen per call from the largest position id (strict >), mscale from the config.
        const L0 = rs.originalMaxPositionEmbeddings;
        const long = seqLen > L0;
        const scale = maxPos / L0;
        const explicit = long ? rs.longMscale : rs.shortMscale;
        const mscale = explicit ?? (scale <= 1 ? 1 : Math.sqrt(1 + Math.log(scale) / Math.log(L0)));
        return { inv: invFreq(base, d, long ? rs.longFactor : rs.shortFactor), mscale: f32(mscale), divisor: 1 };
      }
    }
  }
}

/** Consecutive positions start..start+count−1. */
export function positionRange(start: number, count: number): Int32Array {
  const p = new Int32Array(count);
  for (let i = 0; i < count; i++) p[i] = start + i;
  return p;
}
