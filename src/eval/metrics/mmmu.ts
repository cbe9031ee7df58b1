/**
 * MMMU (evaluation.md §2): VLMEvalKit's open→2-choice conversion (`MMMU_preproc`) and the official MMMU parsers
 * the InternVL repo scores with (`parse_open_response`, `eval_open`, `parse_multi_choice_response`).
 */
import { pyFloat, pyLen, pyLower, pyRound, pySplit, pyStrip, pyStripChars } from '../python.ts';
import type { Choices } from './can-infer.ts';

/** `MMMU_preproc` for one row: an open question (no option A) becomes A = the answer, B = "Other Answers". */
export function mmmuPreproc(choices: Choices, answer: string): { choices: Choices; gt: string } {
  const c = choices.A === undefined || choices.A === '' ? { ...choices, A: answer, B: 'Other Answers' } : choices;
  return { choices: c, gt: /^[A-Z]$/.test(answer) ? answer : 'A' };
}

/** A normalised MMMU answer: a number (rounded to 2 decimals) or a lower-cased string. */
export type MmmuNorm = number | string;

/** `normalize_str`. */
export function normalizeStr(s: string): MmmuNorm[] {
  const t = pyStrip(s);
  const n = pyFloat(t.replaceAll(',', ''));
  if (n !== null) return [pyRound(n, 2)];
  const l = pyLower(t);
  return pyLen(l) === 1 ? [` ${l}`, `${l} `] : [l];
}

/** `extract_numbers`: numbers with thousands separators, scientific, then simple (in that order). */
export function extractNumbers(s: string): string[] {
  const commas = s.match(/-?\b\d{1,3}(?:,\d{3})+\b/g) ?? [];
  const sci = s.match(/-?\d+(?:\.\d+)?[eE][+-]?\d+/g) ?? [];
  const simple = s.match(/-?(?:\d+\.\d+|\.\d+|\d+\b)(?![eE][+-]?\d+)(?![,\d])/g) ?? [];
  return [...commas, ...sci, ...simple];
}

const INDICATORS = ['could be ', 'so ', 'is ', 'thus ', 'therefore ', 'final ', 'answer ', 'result '];
const TRIVIAL = new Set([':', ',', '.', '!', '?', ';', "'"]);

function keySubresponses(response: string): string[] {
  const r = pyLower(pyStripChars(pyStrip(response), '.'));
  const subs = r.split(/\.\s(?=[A-Z])|\n/);
  const keys: string[] = [];
  subs.forEach((resp, index) => {
    const indicators = index === subs.length - 1 ? [...INDICATORS, '='] : INDICATORS;
    let shortest: string | null = null;
    for (const ind of indicators) {
      if (!resp.includes(ind)) continue;
      const tail = pyStrip(resp.split(ind).at(-1)!);
      if (!shortest) shortest = tail; // '' is falsy in Python: a later indicator replaces it
      else if (pyLen(tail) < pyLen(shortest)) shortest = tail;
    }
    if (shortest && !TRIVIAL.has(pyStrip(shortest))) keys.push(shortest);
  });
  return keys.length ? keys : [r];
}

/** `parse_open_response`: key sub-responses plus their numbers, normalised, deduplicated. */
export function parseOpenResponse(response: string): MmmuNorm[] {
  const keys = keySubresponses(response);
  const all = [...keys, ...keys.flatMap(extractNumbers)].flatMap(normalizeStr);
  const seen = new Set<string>();
  return all.filter((v) => {
    const k = `${typeof v}:${v}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** `eval_open`: a string pred containing a normalised string gold, or a numeric pred equal to a numeric gold. */
export function evalOpen(gold: string | readonly string[], preds: readonly MmmuNorm[]): boolean {
  const golds = (typeof gold === 'string' ? [gold] : gold).flatMap(normalizeStr);
  for (const p of preds) {
    if (typeof p === 'string') {
      if (golds.some((g) => typeof g === 'string' && p.includes(g))) return true;
    } else if (golds.some((g) => g === p)) return true;
  }
  return false;
}

/**
 * `parse_multi_choice_response` (official MMMU MC parser; neither reported pipeline uses it). `random` picks the
 * reference's random letter when nothing is found.
 */
export function parseMultiChoiceResponse(response: string, choices: Choices, random: (n: number) => number): string {
  const letters = Object.keys(choices);
  let r = response;
  for (const ch of [',', '.', '!', '?', ';', ':', "'"]) r = pyStripChars(r, ch);
  r = ` ${r} `;
  let indexAns = true;
  let withBracket = false;
  let cands = letters.filter((l) => r.includes(`(${l})`));
  if (cands.length) withBracket = true;
  else cands = letters.filter((l) => r.includes(` ${l} `));
  if (cands.length === 0 && pySplit(r).length > 5) {
    cands = letters.filter((l) => pyLower(r).includes(pyLower(choices[l]!)));
    if (cands.length) indexAns = false;
  }
  if (cands.length === 0) return letters[random(letters.length)]!;
  if (cands.length === 1) return cands[0]!;
  const pos = cands.map((c) =>
    indexAns ? r.lastIndexOf(withBracket ? `(${c})` : ` ${c} `) : pyLower(r).lastIndexOf(pyLower(choices[c]!)),
  );
  return cands[pos.indexOf(Math.max(...pos))]!;
}
