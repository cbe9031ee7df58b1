import type { StreamDecoder } from './types.ts';
import { cleanUpHoldback } from './text.ts';

/**
 * Streams generated ids as text using only the tokenizer's `decode`, so it is right for every
 * decoder (byte-level, byte fallback, SentencePiece's leading-space rule, clean-up rules):
 *
 * - it decodes a window of recent ids and emits what the window's text gained since the last push;
 * - it holds back a trailing U+FFFD (an incomplete UTF-8 character whose remaining bytes are still
 *   to come) and, when the decoder applies transformers' clean-up rules, any suffix such as " " or
 *   " n" that a rule could still rewrite;
 * - when everything is emitted it moves the window start up to the last few ids, keeping one id of
 *   context (so a SentencePiece `▁word` still decodes with its space), which keeps each push cheap.
 *
 * The concatenation of all pushes and the flush equals `decode(allIds)` whenever decode is
 * prefix-stable — every supported decoder except InternLM2's keep-special-tokens spacing, which
 * inserts a space after a special token only once the next special token arrives (chat decodes
 * with skipSpecialTokens).
 */
export function createStreamDecoder(decode: (ids: number[]) => string, cleansUp: boolean): StreamDecoder {
  const ids: number[] = [];
  let start = 0; // window start in `ids`
  let emitted = ''; // text of the window already returned

  const stableLength = (text: string): number => {
    let n = text.length;
    while (n > 0 && text.charCodeAt(n - 1) === 0xfffd) n--;
    if (cleansUp) n -= cleanUpHoldback(text.slice(0, n));
    return n;
  };

  const take = (text: string, n: number): string => {
    // A decoder never rewrites text it has already produced, except through the held-back rules;
    // should that ever happen, emit nothing rather than garbage.
    if (n <= emitted.length || !text.startsWith(emitted)) return '';
    const out = text.slice(emitted.length, n);
    emitted = text.slice(0, n);
    return out;
  };

  return {
    push(id: number): string {
      ids.push(id);
      const text = decode(ids.slice(start));
      const n = stableLength(text);
      const out = take(text, n);
      if (n === text.length && emitted === text && ids.length - start > 8) {
        // Clean point: restart the window at the last id whose own decoding is clean.
        for (let s = ids.length - 1; s > start; s--) {
          const t = decode(ids.slice(s));
          if (t !== '' && stableLength(t) === t.length) {
            start = s;
            emitted = t;
            break;
          }
        }
      }
      return out;
    },
    flush(): string {
      const text = decode(ids.slice(start));
      return take(text, text.length);
    },
  };
}
