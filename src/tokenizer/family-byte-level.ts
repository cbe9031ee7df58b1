import { ByteLevelBpe, byteLevelBytes } from './byte-level-bpe.ts';
import type { TokenizerSettings } from './settings.ts';
import { cleanUpTokenization, decodeUtf8Lossy } from './text.ts';
import { VocabModel, type DecodeToken } from './tokenizer.ts';

/**
 * Byte-level BPE under the wrapper (Qwen2Tokenizer; GPT-2 style): no prefix space, no BOS unless the
 * files ask for one; decoding maps every token back to bytes and decodes them together.
 */
export class ByteLevelModel extends VocabModel {
  readonly cleansUp: boolean;

  constructor(
    private readonly bpe: ByteLevelBpe,
    settings: TokenizerSettings,
  ) {
    super(bpe);
    this.cleansUp = settings.cleanUpTokenizationSpaces ?? false;
  }

  encodeSegment(text: string): number[] {
    return this.bpe.encode(text);
  }
  decode(tokens: DecodeToken[]): string {
    const text = decodeUtf8Lossy(byteLevelBytes(tokens.map((t) => t.text)));
    return this.cleansUp ? cleanUpTokenization(text) : text;
  }
}
