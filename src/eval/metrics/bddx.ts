/** BDD-X text and control-signal metrics (evaluation.md §10.6; no reference code, from the stated formulas). */

/** Longest common subsequence length of two token lists. */
function lcs(a: readonly string[], b: readonly string[]): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    const cur = [0];
    for (let j = 0; j < b.length; j++) cur.push(x === b[j] ? prev[j]! + 1 : Math.max(prev[j + 1]!, cur[j]!));
    prev = cur;
  }
  return prev[b.length]!;
}

/** COCO-caption ROUGE-L of one candidate against its references (β = 1.2, max P and max R over references). */
export function rougeL(candidate: string, references: readonly string[], beta = 1.2): number {
  const c = candidate.split(' ').filter(Boolean);
  let pMax = 0;
  let rMax = 0;
  for (const ref of references) {
    const r = ref.split(' ').filter(Boolean);
    const l = lcs(c, r);
    if (c.length) pMax = Math.max(pMax, l / c.length);
    if (r.length) rMax = Math.max(rMax, l / r.length);
  }
  if (pMax === 0 || rMax === 0) return 0;
  return ((1 + beta * beta) * pMax * rMax) / (rMax + beta * beta * pMax);
}

/** RMSE and A_τ (% of |p − g| < τ) of predicted control signals. */
export function controlErrors(pred: readonly number[], gold: readonly number[], taus = [0.1, 0.5, 1.0, 5.0]): { rmse: number; acc: Record<string, number> } {
  const err = pred.map((p, i) => Math.abs(p - gold[i]!));
  const rmse = Math.sqrt(err.reduce((s, e) => s + e * e, 0) / err.length);
  const acc = Object.fromEntries(taus.map((t) => [String(t), (100 * err.filter((e) => e < t).length) / err.length]));
  return { rmse, acc };
}
