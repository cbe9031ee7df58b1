/** MME-RealWorld (autonomous-driving subset) answer extraction and accuracy (evaluation.md §10.2). */
import { pyLower, pySplit, pyStrip } from '../python.ts';

/** The reference's prefix list: a missing comma fuses two phrases into one (quirk §11.8). */
const PREFIXES = ['The best answer is', 'The correct answer is', 'The answer is', 'The answer', 'The best option isThe correct option is', 'Best answer:', 'Best option:'];
const PREFIXES_FIXED = ['The best answer is', 'The correct answer is', 'The answer is', 'The answer', 'The best option is', 'The correct option is', 'Best answer:', 'Best option:'];

/** `extract_characters_regex(s, choices)`: a letter A–E or "". `choices` as stored, e.g. "(A) red". */
export function mmeExtract(response: string, choices: readonly string[], fixPrefixes = false): string {
  let s = pyStrip(response);
  for (const p of fixPrefixes ? PREFIXES_FIXED : PREFIXES) s = s.replaceAll(p, '');
  if (pySplit(s).length > 10 && !/[ABCDE]/.test(s)) return '';
  const m = /[ABCDE]/.exec(s);
  if (m) return m[0];
  for (const c of choices) if (pyLower(c).includes(pyLower(s))) return [...c][1] ?? '';
  return '';
}
