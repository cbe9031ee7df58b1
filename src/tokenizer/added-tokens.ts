import type { AddedTokenSpec } from './settings.ts';
import { escapeRegExp, trimEndWs, trimStartWs } from './text.ts';

export type Segment = { text: string; start: number; token?: undefined } | { token: AddedTokenSpec; text?: undefined; start?: undefined };

const WORD_CHAR = /[\p{L}\p{N}_]/u;

/**
 * Splits raw input on added tokens before the model tokenizer runs (transformers' common layer):
 * leftmost-longest matching of every occurrence, then `rstrip` deletes the whitespace after a
 * matched token and `lstrip` the whitespace before it. Text segments keep their offset in the input
 * (the Llama pre-tokenizer prefixes `▁` only to the segment at offset 0). Empty segments are dropped.
 *
 * One RegExp alternation (longest contents first) does the scan, so a prompt with thousands of
 * `<IMG_CONTEXT>` tokens costs one native regex pass.
 */
export class AddedTokenSplitter {
  private readonly pattern?: RegExp;
  private readonly byContent = new Map<string, AddedTokenSpec>();

  constructor(tokens: AddedTokenSpec[]) {
    for (const t of tokens) this.byContent.set(t.content, t);
    const contents = [...this.byContent.keys()].sort((a, b) => b.length - a.length);
    if (contents.length > 0) this.pattern = new RegExp(contents.map(escapeRegExp).join('|'), 'g');
  }

  split(text: string): Segment[] {
    const parts: Segment[] = [];
    let last = 0;
    if (this.pattern) {
      const re = this.pattern;
      re.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = re.exec(text)) !== null) {
        const token = this.byContent.get(m[0])!;
        const end = m.index + m[0].length;
        if (token.singleWord && (WORD_CHAR.test(text[m.index - 1] ?? '') || WORD_CHAR.test(text[end] ?? ''))) {
          re.lastIndex = m.index + 1;
          continue;
        }
        if (m.index > last) parts.push({ text: text.slice(last, m.index), start: last });
        parts.push({ token });
        last = end;
      }
    }
    if (last < text.length) parts.push({ text: text.slice(last), start: last });

    // Apply the strip flags of each token to its neighbours.
    for (let i = 0; i < parts.length; i++) {
      const tok = parts[i].token;
      if (!tok) continue;
      const prev = parts[i - 1];
      const next = parts[i + 1];
      if (tok.lstrip && prev && prev.text !== undefined) parts[i - 1] = { text: trimEndWs(prev.text), start: prev.start };
      if (tok.rstrip && next && next.text !== undefined) {
        const stripped = trimStartWs(next.text);
        parts[i + 1] = { text: stripped, start: next.start + (next.text.length - stripped.length) };
      }
    }
    return parts.filter((p) => p.token || p.text !== '');
  }
}
