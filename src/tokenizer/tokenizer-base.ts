import { resolveSpecialTokens, type TokenizerSettings } from './settings.ts';
import { createStreamDecoder } from './stream-decoder.ts';
import type { StreamDecoder, Tokenizer } from './types.ts';

/**
 * What both tokenizer kinds (the transformers-style wrapper and tokenizer.json) share: the named
 * special-token ids from the files, resolved with the tokenizer's own lookup, and the stream decoder
 * built on its decode().
 */
export abstract class TokenizerBase implements Tokenizer {
  /** Ids that `skipSpecialTokens` drops; subclasses add their added special tokens. */
  readonly specialIds = new Set<number>();
  private named: { bosId?: number; eosId?: number; padId?: number; unkId?: number } = {};
  abstract readonly vocabSize: number;
  /** Whether decode applies transformers' clean-up rules (the stream decoder must hold back text). */
  protected abstract readonly decodeCleansUp: boolean;

  abstract encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  abstract decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
  abstract tokenToId(token: string): number | undefined;
  abstract idToToken(id: number): string | undefined;

  get bosId(): number | undefined {
    return this.named.bosId;
  }
  get eosId(): number | undefined {
    return this.named.eosId;
  }
  get padId(): number | undefined {
    return this.named.padId;
  }
  get unkId(): number | undefined {
    return this.named.unkId;
  }

  /**
   * Resolves bos/eos/pad/unk and the additional special tokens with tokenToId (call once lookups work);
   * all of them are skipped on decode too (transformers' all_special_ids).
   */
  protected resolveNamedSpecialTokens(settings: TokenizerSettings): void {
    const ids = resolveSpecialTokens(settings, (tok) => this.tokenToId(tok));
    this.named = ids;
    for (const id of ids.namedIds) this.specialIds.add(id);
  }

  createStreamDecoder(opts: { skipSpecialTokens?: boolean } = {}): StreamDecoder {
    return createStreamDecoder((ids) => this.decode(ids, opts), this.decodeCleansUp);
  }
}
