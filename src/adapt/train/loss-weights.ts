/**
 * Packed loss weighting (training.md §7.2): every token of an original sample s gets w(n_s) with
 * n_s its supervised labels — `token` 1, `sample` 1/n, `square` 1/√n, 0 when n = 0 — ignored
 * positions 0; the loss is Σ_t CE_t · w_{t+1} / D with D = Σ_t w_{t+1} (or, with all-gather, the
 * mean D over the data-parallel ranks / accumulated micro-batches).
 */
import { IGNORE_TOKEN_ID } from '../sample/build.ts';

export type LossReduction = 'token' | 'sample' | 'square';

export function sampleWeight(n: number, mode: LossReduction): number {
  if (n === 0) return 0;
  if (mode === 'token') return 1;
  return mode === 'sample' ? 1 / n : 1 / Math.sqrt(n);
}

/** Per-token weights (unshifted) of a pack; `cuSeqlens` = [0, len₁, len₁+len₂, …, L]. */
export function packLossWeights(labels: ArrayLike<number>, cuSeqlens: readonly number[], mode: LossReduction): Float32Array {
  const w = new Float32Array(labels.length);
  for (let s = 0; s + 1 < cuSeqlens.length; s++) {
    const a = cuSeqlens[s]!;
    const b = cuSeqlens[s + 1]!;
    let n = 0;
    for (let t = a; t < b; t++) if (labels[t] !== IGNORE_TOKEN_ID) n++;
    const ws = sampleWeight(n, mode);
    for (let t = a; t < b; t++) w[t] = labels[t] === IGNORE_TOKEN_ID ? 0 : ws;
  }
  return w;
}

/** Σ CE·w / Σ w over the shifted positions (w already shifted). */
export function weightedLoss(ce: ArrayLike<number>, w: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ce.length; i++) {
    num += ce[i]! * w[i]!;
    den += w[i]!;
  }
  return num / den;
}

/**
 * Per-rank losses with `loss_reduction_all_gather`: rank r's Σ CE·w divided by the mean D of all
 * ranks; averaging them gives the global Σ CE·w / Σ w.
 */
export function allGatherLosses(numerators: readonly number[], denominators: readonly number[]): number[] {
  const meanD = denominators.reduce((a, b) => a + b, 0) / denominators.length;
  return numerators.map((n) => n / meanD);
}
