import type { SentencePieceBpe } from './sentencepiece-bpe.ts';
import { SPACE_SYMBOL } from './sentencepiece-bpe.ts';
import type { TokenizerSettings } from './settings.ts';
import { cleanUpTokenization, decodeUtf8Strict } from './text.ts';
import { VocabModel, type DecodeToken } from './tokenizer.ts';

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/**
 * LlamaTokenizer semantics as transformers 5 runs them (the InternVL2-4B goldens): the SentencePiece
 * pieces are merged lowest-id first, spaces become `▁`, and the `▁` prefix follows
 * `add_prefix_space` / `legacy` like the Metaspace pre-tokenizer — `legacy: false` prefixes only the
 * segment at input offset 0, `legacy: true` every segment, and never a segment already starting
 * with `▁`. The SentencePiece file's own `add_dummy_prefix` is not used here.
 *
 * Decoding is the Replace(▁→space) + ByteFallback + Fuse + Strip(one leading space) chain.
 */
export class LlamaModel extends VocabModel {
  readonly cleansUp: boolean;
  private readonly prefix: 'first' | 'always' | 'never';

  constructor(
    private readonly sp: SentencePieceBpe,
    settings: TokenizerSettings,
  ) {
    super(sp);
    const addPrefixSpace = settings.addPrefixSpace ?? true;
    // Class default for `legacy` is true (transformers warns and keeps the legacy behaviour).
    this.prefix = !addPrefixSpace ? 'never' : (settings.legacy ?? true) ? 'always' : 'first';
    this.cleansUp = settings.cleanUpTokenizationSpaces ?? false;
  }

  encodeSegment(text: string, atInputStart: boolean): number[] {
    let s = text.replaceAll(' ', SPACE_SYMBOL);
    const prefix = this.prefix === 'always' || (this.prefix === 'first' && atInputStart);
    if (prefix && !s.startsWith(SPACE_SYMBOL)) s = SPACE_SYMBOL + s;
    return this.sp.encodeNormalized(s);
  }

  decode(tokens: DecodeToken[]): string {
    let out = '';
    let bytes: number[] = [];
    const flush = () => {
      if (bytes.length === 0) return;
      // A run of byte tokens that is not valid UTF-8 as a whole becomes one U+FFFD per byte.
      out += decodeUtf8Strict(Uint8Array.from(bytes)) ?? '\uFFFD'.repeat(bytes.length);
      bytes = [];
    };
    for (const t of tokens) {
      const m = BYTE_TOKEN.exec(t.text);
      if (m) {
        bytes.push(parseInt(m[1], 16));
        continue;
      }
      flush();
      out += t.text.replaceAll(SPACE_SYMBOL, ' ');
    }
    flush();
    if (this.prefix !== 'never' && out.startsWith(' ')) out = out.slice(1);
    return this.cleansUp ? cleanUpTokenization(out) : out;
  }
}
