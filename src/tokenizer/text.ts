/**
 * Small text helpers shared by the tokenizer models.
 */

/**
 * Unicode White_Space — what the reference (Rust `char::is_whitespace`, Oniguruma `\s`) strips and
 * splits on. JS `\s` differs: it adds U+FEFF and lacks U+0085. (Python's `str.isspace` would add
 * U+001C–U+001F; the goldens come from the Rust path.)
 */
export const WS = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const LEADING_WS = new RegExp(`^[${WS}]+`);
const TRAILING_WS = new RegExp(`[${WS}]+$`);
export const trimStartWs = (s: string): string => s.replace(LEADING_WS, '');
export const trimEndWs = (s: string): string => s.replace(TRAILING_WS, '');

/** transformers' `clean_up_tokenization` replacements, in the reference order. */
export const CLEAN_UP_RULES: ReadonlyArray<readonly [string, string]> = [
  [' .', '.'],
  [' ?', '?'],
  [' !', '!'],
  [' ,', ','],
  [" ' ", "'"],
  [" n't", "n't"],
  [" 'm", "'m"],
  [" 's", "'s"],
  [" 've", "'ve"],
  [" 're", "'re"],
];

export function cleanUpTokenization(text: string): string {
  for (const [from, to] of CLEAN_UP_RULES) text = text.split(from).join(to);
  return text;
}

/**
 * Length of the longest suffix of `text` (starting at or after `from`) that is a proper prefix of one of
 * `patterns`: what a stream must hold back because more text could still complete a pattern (clean-up
 * rules here, stop strings in generation).
 */
export function partialMatchLength(text: string, patterns: readonly string[], from = 0): number {
  let best = 0;
  for (const s of patterns) {
    const maxLen = Math.min(s.length - 1, text.length - from);
    for (let len = maxLen; len > best; len--) {
      if (text.endsWith(s.slice(0, len))) {
        best = len;
        break;
      }
    }
  }
  return best;
}

const CLEAN_UP_PATTERNS = CLEAN_UP_RULES.map(([from]) => from);

/** The suffix of `text` that a clean-up rule could still rewrite once more text arrives. */
export function cleanUpHoldback(text: string): number {
  return partialMatchLength(text, CLEAN_UP_PATTERNS);
}

const lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 decode replacing each maximal invalid subpart with U+FFFD (Rust `from_utf8_lossy`, Python "replace"). */
export const decodeUtf8Lossy = (bytes: Uint8Array): string => lossy.decode(bytes);

/** UTF-8 decode that returns undefined on any invalid sequence. */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * SentencePiece's byte-piece decoding: valid characters are kept and every byte that does not
 * start a valid UTF-8 sequence becomes one U+FFFD.
 */
export function decodeUtf8PerByte(bytes: Uint8Array): string {
  const ok = decodeUtf8Strict(bytes);
  if (ok !== undefined) return ok;
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const len = utf8SequenceLength(bytes, i);
    if (len === 0) {
      out += '\uFFFD';
      i += 1;
    } else {
      out += strict.decode(bytes.subarray(i, i + len));
      i += len;
    }
  }
  return out;
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when none starts there. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i];
  let len: number;
  let min: number;
  if (c < 0x80) return 1;
  else if (c >= 0xc2 && c <= 0xdf) (len = 2), (min = 0x80);
  else if (c >= 0xe0 && c <= 0xef) (len = 3), (min = 0x800);
  else if (c >= 0xf0 && c <= 0xf4) (len = 4), (min = 0x10000);
  else return 0;
  if (i + len > b.length) return 0;
  let cp = c & (0xff >> (len + 1));
  for (let k = 1; k < len; k++) {
    const d = b[i + k];
    if ((d & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (d & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

/** Escapes a literal for use inside a RegExp. */
export const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
