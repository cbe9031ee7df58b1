/** AI2D exact match (evaluation.md §4): stripped, case-insensitive, against any annotation. */
import { pyLower, pyStrip } from '../python.ts';

export function exactMatch(golds: readonly string[], pred: string): number {
  const p = pyLower(pyStrip(pred));
  return golds.some((g) => pyLower(pyStrip(g)) === p) ? 1 : 0;
}
