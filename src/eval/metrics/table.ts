/** The published table's average (evaluation.md §1.3): mean over present benchmarks, OCRBench divided by 10. */

export const TABLE_BENCHES = ['mmmu', 'mathvista', 'ai2d', 'chartqa', 'docvqa', 'infovqa', 'ocrbench', 'mmbench-en', 'mmbench-cn'] as const;

/** InternVL2-Llama3-76B's average, the denominator of the "% of 76B" column. */
export const REFERENCE_76B_AVG = 732.5 / 9;

/** Average of the given cells (null/undefined = "-", skipped) and its ratio to the 76B model's average. */
export function tableAverage(scores: Partial<Record<string, number | null>>, referenceAvg = REFERENCE_76B_AVG): { avg: number | null; relative: number | null } {
  const vals: number[] = [];
  for (const b of TABLE_BENCHES) {
    const v = scores[b];
    if (v === null || v === undefined) continue;
    vals.push(b === 'ocrbench' ? v / 10 : v);
  }
  if (!vals.length) return { avg: null, relative: null };
  const avg = vals.reduce((s, v) => s + v, 0) / vals.length;
  return { avg, relative: avg / referenceAvg };
}
