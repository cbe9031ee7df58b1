import type { SentencePieceBpe } from './sentencepiece-bpe.ts';
import { namedSpecialTokens, type TokenizerSettings } from './settings.ts';
import { cleanUpTokenization } from './text.ts';
import { VocabModel, type DecodeToken } from './tokenizer.ts';

/**
 * A slow SentencePiece wrapper (InternLM2Tokenizer and similar remote-code tokenizers): each text
 * segment between added tokens goes through SentencePiece itself (its own normalizer, dummy prefix
 * and score-ordered merges).
 *
 * Decoding follows transformers-4 `_decode` plus InternLM2's `convert_tokens_to_string`:
 * - added tokens that are not special, and special tokens whose id is beyond the SentencePiece
 *   vocabulary, are joined to the surrounding text with single spaces;
 * - inside `convert_tokens_to_string`, other special tokens get a space before them (after a normal
 *   piece), the pieces between them are SentencePiece-decoded, and `clean_up_tokenization` is
 *   always applied (the wrapper's prefix-space step adds a space and removes it again);
 * - `clean_up_tokenization_spaces` then applies the clean-up once more.
 */
export class SentencePieceWrapperModel extends VocabModel {
  readonly cleansUp = true;
  private readonly specialContents: Set<string>;
  private readonly cleanUpFlag: boolean;

  constructor(
    private readonly sp: SentencePieceBpe,
    settings: TokenizerSettings,
  ) {
    super(sp);
    this.specialContents = new Set(namedSpecialTokens(settings).filter((s): s is string => s !== undefined));
    for (const t of settings.addedTokens) if (t.special) this.specialContents.add(t.content);
    this.cleanUpFlag = settings.cleanUpTokenizationSpaces ?? false;
  }

  encodeSegment(text: string): number[] {
    return this.sp.encodeNormalized(this.sp.normalize(text, this.sp.model.addDummyPrefix));
  }

  decode(tokens: DecodeToken[]): string {
    const subTexts: string[] = [];
    let current: DecodeToken[] = [];
    for (const t of tokens) {
      const special = this.specialContents.has(t.text);
      const legacyAdded = t.added !== undefined && (!special || t.id >= this.sp.size);
      if (legacyAdded) {
        if (current.length > 0) {
          const s = this.tokensToString(current);
          if (s.length > 0) subTexts.push(s);
          current = [];
        }
        subTexts.push(t.text);
      } else {
        current.push(t);
      }
    }
    if (current.length > 0) subTexts.push(this.tokensToString(current));
    const text = subTexts.join(' ');
    return this.cleanUpFlag ? cleanUpTokenization(text) : text;
  }

  /** InternLM2Tokenizer.convert_tokens_to_string (its add-then-drop prefix space cancels out). */
  private tokensToString(tokens: DecodeToken[]): string {
    let out = '';
    let pieces: number[] = [];
    let prevIsSpecial = false;
    for (const t of tokens) {
      if (this.specialContents.has(t.text)) {
        if (!prevIsSpecial) out += ' ';
        out += this.sp.decode(pieces) + t.text;
        prevIsSpecial = true;
        pieces = [];
      } else {
        pieces.push(t.id);
        prevIsSpecial = false;
      }
    }
    out += this.sp.decode(pieces);
    return cleanUpTokenization(out);
  }
}
