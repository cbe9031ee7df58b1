/** ANLS as the DocVQA/InfoVQA RRC script computes it (evaluation.md §6); VLMEvalKit's `anls_compute` is the same. */
import { pyLen, pyLower, pySplit, pyStrip } from '../python.ts';

/** Levenshtein distance with unit costs, over code points (Python indexes strings by code point). */
export function levenshtein(a: string, b: string): number {
  const s = [...a];
  const t = [...b];
  if (s.length > t.length) return levenshtein(b, a);
  let prev = Array.from({ length: s.length + 1 }, (_, i) => i);
  for (let j = 0; j < t.length; j++) {
    const cur = [j + 1];
    for (let i = 0; i < s.length; i++) cur.push(s[i] === t[j] ? prev[i]! : 1 + Math.min(prev[i]!, prev[i + 1]!, cur[i]!));
    prev = cur;
  }
  return prev[s.length]!;
}

const norm = (s: string): string => pySplit(pyLower(pyStrip(s))).join(' ');

/** Normalised distance of one gold answer (`anls_compute`): length from the raw strings unless `textbook`. */
export function normalizedDistance(gold: string, pred: string, textbook = false): number {
  const g = norm(gold);
  const p = norm(pred);
  const d = levenshtein(g, p);
  const len = textbook ? Math.max(pyLen(g), pyLen(p)) : Math.max(pyLen(gold.toUpperCase()), pyLen(pred.toUpperCase()));
  return len === 0 ? 0 : d / len;
}

/**
 * One question's ANLS: 1 − min normalised distance over the gold answers, 0 below 0.5. The reference keeps exactly
 * 0.5 (`s < 0.5 → 0`); `textbook` (quirk §11.2 fixed) zeroes nl ≥ 0.5 and measures the normalised strings.
 */
export function anls(golds: readonly string[], pred: string, textbook = false): number {
  if (golds.length === 0) return 0;
  const nl = Math.min(...golds.map((g) => normalizedDistance(g, pred, textbook)));
  if (textbook) return nl >= 0.5 ? 0 : 1 - nl;
  const s = 1 - nl;
  return s < 0.5 ? 0 : s;
}
