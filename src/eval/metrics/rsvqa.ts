/** RSVQA-LR/HR `score.py` (evaluation.md §10.3): bucketed counts and areas, exact lower-cased answers otherwise. */
import { pyInt, pyLower, pyRstripChars, pyStrip } from '../python.ts';

/** The count bucket of `score.py`: 0, (0,100], (100,1000], > 1000; null for a negative number. */
function bucket(n: number): number | null {
  if (n === 0) return 0;
  if (n > 0 && n <= 100) return 1;
  if (n > 100 && n <= 1000) return 2;
  if (n > 1000) return 3;
  return null;
}

function countCorrect(response: string | null, gold: string): boolean {
  const r = response === null ? 0 : pyInt(response); // a missing response counts as 0; unparsable is wrong
  const g = pyInt(gold);
  if (r === null || g === null) return false;
  const br = bucket(r);
  return br !== null && br === bucket(g);
}

const PUNCT_END = /[\s.,;:!?'"]+$/u;

/** One item. `stripPunctuation` = quirk §11.9 fixed ("Yes." equals "yes"). */
export function rsvqaCorrect(type: string, response: string | null, gold: string, stripPunctuation = false): boolean {
  if (type === 'count') return countCorrect(response, gold);
  if (type === 'area') return countCorrect(response, pyRstripChars(gold, 'm2'));
  if (!response) return false; // `if response and response.lower() == answer.lower()`
  if (stripPunctuation) return pyLower(pyStrip(response).replace(PUNCT_END, '')) === pyLower(pyStrip(gold).replace(PUNCT_END, ''));
  return pyLower(response) === pyLower(gold);
}

/** Types left out of `total_score_useful` (the paper's "Avg."). */
export const RSVQA_NOT_USEFUL = new Set(['count', 'area']);

/** Python `round(x, 4)` of the per-type accuracies is left to the reporter; these are exact fractions. */
export function rsvqaSummary(rows: readonly { type: string; correct: boolean }[]): { perType: Record<string, number>; total: number; useful: number } {
  const by = new Map<string, [number, number]>();
  let useful = 0;
  let usefulN = 0;
  for (const r of rows) {
    const c = by.get(r.type) ?? [0, 0];
    c[0] += r.correct ? 1 : 0;
    c[1] += 1;
    by.set(r.type, c);
    if (!RSVQA_NOT_USEFUL.has(r.type)) {
      usefulN++;
      if (r.correct) useful++;
    }
  }
  const perType = Object.fromEntries([...by].map(([t, [c, n]]) => [t, c / n]));
  const total = rows.length ? rows.filter((r) => r.correct).length / rows.length : 0;
  return { perType, total, useful: usefulN ? useful / usefulN : 0 };
}
