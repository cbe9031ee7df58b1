/**
 * The Python semantics the reference scorers rely on (evaluation.md §1.4), so a score computed here equals the
 * one computed by the Python code on the same strings. JS built-ins differ in each case: `Number("")` is 0 and
 * accepts hex, `toFixed` rounds ties up, `String(1)` prints "1" where Python prints "1.0", `trim()` and `\s`
 * see a different whitespace set, `length` counts UTF-16 units where `len()` counts code points.
 */
import { PY_SPACE, pyStrip } from '../prompt/index.ts';

export { pyStrip };

const SPACE_RUN = new RegExp(`[${PY_SPACE}]+`, 'g');

/** `s.split()` without arguments: split on runs of whitespace, no empty pieces. */
export function pySplit(s: string): string[] {
  return s.split(SPACE_RUN).filter((p) => p !== '');
}

/** `s.lower()`: JS full Unicode lower-casing (final sigma included) is the same mapping. */
export const pyLower = (s: string): string => s.toLowerCase();

/** `len(s)`: code points. */
export const pyLen = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

function charSet(chars: string): Set<string> {
  return new Set([...chars]);
}

/** `s.strip(chars)`. */
export function pyStripChars(s: string, chars: string): string {
  return pyRstripChars(pyLstripChars(s, chars), chars);
}

/** `s.lstrip(chars)`. */
export function pyLstripChars(s: string, chars: string): string {
  const set = charSet(chars);
  const cps = [...s];
  let i = 0;
  while (i < cps.length && set.has(cps[i]!)) i++;
  return cps.slice(i).join('');
}

/** `s.rstrip(chars)`. */
export function pyRstripChars(s: string, chars: string): string {
  const set = charSet(chars);
  const cps = [...s];
  let j = cps.length;
  while (j > 0 && set.has(cps[j - 1]!)) j--;
  return cps.slice(0, j).join('');
}

const ND = /\p{Nd}/u;
/** Python's int()/float() accept every Unicode decimal digit; Nd digits come in aligned runs of ten. */
function asciiDigits(s: string): string | null {
  let out = '';
  for (const ch of s) {
    if (ch >= '0' && ch <= '9') out += ch;
    else if (ND.test(ch)) {
      let start = ch.codePointAt(0)!;
      while (ND.test(String.fromCodePoint(start - 1))) start--;
      out += String((ch.codePointAt(0)! - start) % 10);
    } else out += ch;
  }
  return out;
}

const DIGITS = '[0-9](?:_?[0-9])*';
const FLOAT_RE = new RegExp(`^[+-]?(?:(?:${DIGITS}(?:\\.(?:${DIGITS})?)?|\\.${DIGITS})(?:[eE][+-]?${DIGITS})?|inf|infinity|nan)$`, 'i');
const INT_RE = new RegExp(`^[+-]?${DIGITS}$`);

/** `float(s)`, or null where Python raises ValueError. */
export function pyFloat(s: string): number | null {
  const t = asciiDigits(pyStrip(s));
  if (t === null || !FLOAT_RE.test(t)) return null;
  const body = t.replace(/^[+-]/, '').toLowerCase();
  const sign = t.startsWith('-') ? -1 : 1;
  if (body === 'inf' || body === 'infinity') return sign * Infinity;
  if (body === 'nan') return NaN;
  return sign * Number(body.replaceAll('_', '')); // a decimal literal: correctly rounded, as Python's strtod
}

/** `int(s)` for a string, or null where Python raises ValueError (beyond 2**53 the value is the nearest double). */
export function pyInt(s: string): number | null {
  const t = asciiDigits(pyStrip(s));
  if (t === null || !INT_RE.test(t)) return null;
  const n = Number(t.replaceAll('_', ''));
  return Object.is(n, -0) ? 0 : n;
}

/** The double as an exact rational m · 2^e (m a BigInt). */
function exactParts(x: number): { m: bigint; e: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const sign = hi >>> 31 ? -1n : 1n;
  const biased = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (biased === 0) e = -1074;
  else {
    m |= 1n << 52n;
    e = biased - 1075;
  }
  return { m: sign * m, e };
}

/** Rounds the rational num/den (den > 0) to an integer, ties to even. */
function roundHalfEven(num: bigint, den: bigint): bigint {
  const neg = num < 0n;
  const a = neg ? -num : num;
  let q = a / den;
  const r2 = (a % den) * 2n;
  if (r2 > den || (r2 === den && q % 2n === 1n)) q += 1n;
  return neg ? -q : q;
}

/**
 * `round(x, n)`: half-even on the exact binary value (`round(0.125, 2)` = 0.12, `round(2.675, 2)` = 2.67), then the
 * double nearest to the decimal result, as CPython does. `n` omitted = `round(x)` (an integer).
 */
export function pyRound(x: number, n = 0): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const { m, e } = exactParts(x);
  let num = m;
  let den = 1n;
  if (e >= 0) num <<= BigInt(e);
  else den <<= BigInt(-e);
  if (n >= 0) num *= 10n ** BigInt(n);
  else den *= 10n ** BigInt(-n);
  const q = roundHalfEven(num, den);
  const r = Number(n >= 0 ? `${q}e-${n}` : `${q}e${-n}`);
  return r === 0 && x < 0 ? -0 : r;
}

/** `str(x)` / `repr(x)` of a Python float: shortest round-trip digits, `14.0`, `1e+16`, `1e-05`, `inf`, `nan`. */
export function pyStrFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expStr] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mant.replace('.', '');
  const exp = Number(expStr);
  const sign = x < 0 ? '-' : '';
  const decpt = exp + 1;
  if (decpt <= -4 || decpt > 16) {
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : '';
    const ee = Math.abs(exp).toString().padStart(2, '0');
    return `${sign}${digits[0]}${frac}e${exp < 0 ? '-' : '+'}${ee}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/** `str(v)` for the values the scorers print: floats as Python does, strings as they are. */
export function pyStr(v: unknown): string {
  if (typeof v === 'number') return pyStrFloat(v);
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  return String(v);
}

function pyRepr(v: unknown): string {
  if (typeof v === 'string') return v.includes("'") && !v.includes('"') ? `"${v}"` : `'${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  return pyStr(v);
}

/** A Python literal value as `ast.literal_eval` reads it (strings, numbers, None/True/False, lists, tuples). */
export type PyValue = string | number | boolean | null | PyValue[];

/**
 * `ast.literal_eval(s)` for the literals benchmark files carry (OCRBench's answer lists, MathVista's choices):
 * lists/tuples of strings and numbers. Throws a plain Error naming the offset on anything else; callers turn it
 * into a one-line error with the file and line.
 */
export function pyLiteral(s: string): PyValue {
  let i = 0;
  const ws = () => {
    while (i < s.length && /[ \t\n\r]/.test(s[i]!)) i++;
  };
  const bad = (what: string): never => {
    throw new Error(`not a Python literal: ${what} at offset ${i}`);
  };
  const value = (): PyValue => {
    ws();
    const c = s[i];
    if (c === '[' || c === '(') {
      const close = c === '[' ? ']' : ')';
      i++;
      const out: PyValue[] = [];
      ws();
      while (s[i] !== close) {
        out.push(value());
        ws();
        if (s[i] === ',') {
          i++;
          ws();
        } else if (s[i] !== close) bad(`expected ',' or '${close}'`);
      }
      i++;
      return out;
    }
    if (c === "'" || c === '"') return str();
    const word = /^(None|True|False)\b/.exec(s.slice(i));
    if (word) {
      i += word[1]!.length;
      return word[1] === 'None' ? null : word[1] === 'True';
    }
    const num = /^[+-]?(?:\d[\d_]*\.?[\d_]*(?:[eE][+-]?\d+)?|\.\d[\d_]*(?:[eE][+-]?\d+)?)/.exec(s.slice(i));
    if (num) {
      i += num[0].length;
      const v = pyFloat(num[0]);
      if (v === null) bad(`bad number '${num[0]}'`);
      return v;
    }
    return bad(c === undefined ? 'unexpected end' : `unexpected '${c}'`);
  };
  const ESC: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v' };
  const str = (): string => {
    const q = s[i]!;
    const triple = s.startsWith(q.repeat(3), i);
    const end = triple ? q.repeat(3) : q;
    i += end.length;
    let out = '';
    while (!s.startsWith(end, i)) {
      if (i >= s.length) bad('unterminated string');
      const ch = s[i]!;
      if (ch === '\\') {
        const n = s[i + 1];
        if (n === 'x' || n === 'u' || n === 'U') {
          const len = n === 'x' ? 2 : n === 'u' ? 4 : 8;
          const hex = s.slice(i + 2, i + 2 + len);
          if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) bad('bad escape');
          out += String.fromCodePoint(parseInt(hex, 16));
          i += 2 + len;
        } else if (n === '\n') i += 2;
        else if (n !== undefined && n in ESC) {
          out += ESC[n];
          i += 2;
        } else {
          out += ch; // Python keeps unknown escapes as written
          i++;
        }
      } else {
        if (!triple && ch === '\n') bad('newline in string');
        out += ch;
        i++;
      }
    }
    i += end.length;
    return out;
  };
  const v = value();
  ws();
  if (i !== s.length) bad('trailing text');
  return v;
}
