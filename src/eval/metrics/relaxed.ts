/** ChartQA relaxed accuracy (evaluation.md §5), with the reference's swapped arguments. */
import { pyFloat, pyLower, pyRstripChars, pyStrip } from '../python.ts';

/** Pix2Struct `_to_float`: a trailing run of `%` divides by 100. */
export function toFloat(t: string): number | null {
  if (t.endsWith('%')) {
    const v = pyFloat(pyRstripChars(t, '%'));
    return v === null ? null : v / 100;
  }
  return pyFloat(t);
}

/** Pix2Struct `relaxed_correctness(target, prediction)` exactly: relative to `target`, a zero target is non-numeric. */
export function relaxedCorrectness(target: string, prediction: string, maxRelativeChange = 0.05): boolean {
  const p = toFloat(prediction);
  const t = toFloat(target);
  if (p !== null && t) return Math.abs(p - t) / Math.abs(t) <= maxRelativeChange;
  return pyLower(prediction) === pyLower(target);
}

/**
 * One ChartQA item: max over the annotations. The reference calls `relaxed_correctness(answer.strip(), gold)`, so the
 * tolerance is relative to the model's number and a model answer of 0 falls to string equality; `textbook`
 * (quirk §11.1 fixed) is `relaxed_correctness(gold, answer)` with 0 compared numerically.
 */
export function chartqaScore(golds: readonly string[], answer: string, textbook = false): number {
  const a = pyStrip(answer);
  for (const g of golds) {
    if (!textbook ? relaxedCorrectness(a, g) : textbookCorrect(g, a)) return 1;
  }
  return 0;
}

function textbookCorrect(gold: string, pred: string): boolean {
  const g = toFloat(gold);
  const p = toFloat(pred);
  if (g !== null && p !== null) return g === 0 ? p === 0 : Math.abs(p - g) / Math.abs(g) <= 0.05;
  return pyLower(pred) === pyLower(gold);
}
