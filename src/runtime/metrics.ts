/** Comparison metrics for parity checks (double accumulation). */

/** ‖a − b‖₂ / ‖b‖₂ (b = reference). */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    const d = a[i]! - b[i]!;
    num += d * d;
    den += b[i]! * b[i]!;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

export function argmax(row: ArrayLike<number>, start = 0, end = row.length): number {
  // Ties → lowest index (HF greedy); NaN never wins; all −∞/NaN → the first index, never out of range.
  let best = start;
  let bestV = -Infinity;
  for (let i = start; i < end; i++) {
    const v = row[i]!;
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best - start;
}

/**
 * Fraction of rows whose argmax agrees with the reference, over the rows where the reference's top-2
 * logits differ by more than `margin` (near-ties are not decidable at float32 noise level).
 */
export function argmaxAgreement(ours: ArrayLike<number>, ref: ArrayLike<number>, vocab: number, margin = 1e-3): { agreement: number; rows: number } {
  const rows = ref.length / vocab;
  let decided = 0;
  let agree = 0;
  for (let r = 0; r < rows; r++) {
    let top = -Infinity;
    let second = -Infinity;
    for (let i = r * vocab; i < (r + 1) * vocab; i++) {
      const v = ref[i]!;
      if (v > top) { second = top; top = v; } else if (v > second) second = v;
    }
    if (top - second <= margin) continue;
    decided++;
    if (argmax(ours, r * vocab, (r + 1) * vocab) === argmax(ref, r * vocab, (r + 1) * vocab)) agree++;
  }
  return { agreement: decided === 0 ? 1 : agree / decided, rows: decided };
}

/**
 * Mean next-token cross-entropy as in HF causal LMs: logits row i predicts labels[i + 1]; labels
 * of −100 are ignored.
 */
export function causalLmLoss(logits: ArrayLike<number>, labels: ArrayLike<number>, vocab: number): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i + 1 < labels.length; i++) {
    const y = labels[i + 1]!;
    if (y === -100) continue;
    const off = i * vocab;
    let mx = -Infinity;
    for (let j = 0; j < vocab; j++) mx = Math.max(mx, logits[off + j]!);
    let se = 0;
    for (let j = 0; j < vocab; j++) se += Math.exp(logits[off + j]! - mx);
    sum += Math.log(se) + mx - logits[off + y]!;
    n++;
  }
  return n === 0 ? NaN : sum / n;
}
