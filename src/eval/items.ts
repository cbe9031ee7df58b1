/**
 * Checking one prediction line (DESIGN.md's table of fields per benchmark) before scoring: each problem is one
 * line that names where it is (`file:line`), so a malformed line is never scored silently.
 */
import { fail } from '../errors.ts';
import { pyLiteral, pyStr } from './python.ts';
import { OCRBENCH_GROUPS } from './metrics/ocrbench.ts';

export type Raw = Record<string, unknown>;

/** A checked line: the raw fields with the bench's fields normalised (answers as lists, choices as lists, ...). */
export interface ScoreItem {
  id: string | number;
  prediction: string;
  [field: string]: unknown;
}

const show = (v: unknown) => (v === undefined ? 'missing' : JSON.stringify(v)?.slice(0, 60));

export function bad(where: string, field: string, want: string, got: unknown): never {
  return fail(`${where}: field '${field}' must be ${want}, got ${show(got)}`);
}

export function str(where: string, o: Raw, f: string): string {
  const v = o[f];
  return typeof v === 'string' ? v : bad(where, f, 'a string', v);
}

export function optStr(where: string, o: Raw, f: string): string | undefined {
  return o[f] === undefined || o[f] === null ? undefined : str(where, o, f);
}

/** A string or a number (RSVQA answers, MathVista answers): numbers as Python prints them. */
export function strOrNum(where: string, o: Raw, f: string): string {
  const v = o[f];
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyStr(v);
  return bad(where, f, 'a string or a number', v);
}

/**
 * A string, a list of strings, or (as VLMEvalKit TSVs store it) a Python-literal list in a string. `literal`:
 * 'strict' = a string that opens with [ or ( must be a list literal (OCRBench's answers always are); 'lenient' =
 * one that does not parse as a list of strings is one answer, as VLMEvalKit's `eval` fallback treats it.
 */
export function strList(where: string, o: Raw, f: string, literal: false | 'strict' | 'lenient' = false): string[] {
  let v = o[f];
  if (literal && typeof v === 'string' && /^\s*[[(]/.test(v)) {
    try {
      const parsed = pyLiteral(v);
      if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((x) => typeof x === 'string')) v = parsed;
      else if (literal === 'strict') bad(where, f, 'a list literal of strings', v);
    } catch (e) {
      if (literal === 'strict') bad(where, f, 'a list literal', `${v} (${(e as Error).message})`);
    }
  }
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.map((x) => (typeof x === 'number' ? pyStr(x) : x));
  return bad(where, f, 'a string or a non-empty list of strings', v);
}

const LETTER = /^[A-Z]$/;

/** Options `{"A": text, ...}`: letters A–Z with string texts, absent letters left out. */
export function options(where: string, o: Raw, f: string, allowEmpty = false): Record<string, string> {
  const v = o[f];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad(where, f, 'an object {"A": text, ...}', v);
  const out: Record<string, string> = {};
  for (const k of Object.keys(v).sort()) {
    const t = (v as Raw)[k];
    if (!LETTER.test(k)) bad(where, f, 'keyed by capital letters', v);
    if (t === null || t === undefined) continue;
    out[k] = typeof t === 'string' ? t : typeof t === 'number' ? pyStr(t) : bad(where, `${f}.${k}`, 'a string', t);
  }
  if (!allowEmpty && Object.keys(out).length === 0) bad(where, f, 'a non-empty object of options', v);
  return out;
}

export function letter(where: string, o: Raw, f: string): string {
  const v = o[f];
  return typeof v === 'string' && LETTER.test(v) ? v : bad(where, f, 'one capital letter', v);
}

export function int(where: string, o: Raw, f: string): number {
  const v = o[f];
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : bad(where, f, 'an integer', v);
}

export function oneOf<T extends string>(where: string, o: Raw, f: string, values: readonly T[]): T {
  const v = o[f];
  return values.includes(v as T) ? (v as T) : bad(where, f, `one of ${values.join(', ')}`, v);
}

export function numbers(where: string, o: Raw, f: string, n: number): number[] {
  const v = o[f];
  return Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number' && Number.isFinite(x)) ? (v as number[]) : bad(where, f, `a list of ${n} numbers`, v);
}

/** The two fields every line has. */
export function base(where: string, o: unknown): { raw: Raw; id: string | number; prediction: string } {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) fail(`${where}: expected a JSON object, got ${show(o)}`);
  const raw = o as Raw;
  const id = raw.id;
  if (!(typeof id === 'string' && id !== '') && !(typeof id === 'number' && Number.isFinite(id))) bad(where, 'id', 'a non-empty string or a number', id);
  return { raw, id: id as string | number, prediction: str(where, raw, 'prediction') };
}

export const OCRBENCH_CATEGORIES = Object.keys(OCRBENCH_GROUPS);
