import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { fail } from '../errors.ts';
import { readJsonFile, type TokenizerSettings } from './settings.ts';
import { createStreamDecoder } from './stream-decoder.ts';
import type { StreamDecoder, Tokenizer } from './types.ts';

/**
 * A folder that ships only a fast-tokenizer `tokenizer.json`: the whole pipeline (normalizer,
 * pre-tokenizer, model, post-processor, decoder, added tokens) is @huggingface/tokenizers', which
 * implements that format.
 */
export class TokenizerJson implements Tokenizer {
  readonly bosId?: number;
  readonly eosId?: number;
  readonly padId?: number;
  readonly unkId?: number;
  readonly vocabSize: number;
  readonly specialIds = new Set<number>();
  private readonly hf: HfTokenizer;
  private readonly cleansUp: boolean;

  constructor(file: string, config: Record<string, unknown>, settings: TokenizerSettings) {
    const json = readJsonFile(file);
    if (json === null || typeof json !== 'object' || !('model' in (json as object))) fail(`${file}: not a tokenizer.json (no "model")`);
    try {
      this.hf = new HfTokenizer(json as object, config);
    } catch (e) {
      fail(`${file}: unsupported tokenizer.json (${(e as Error).message.split('\n')[0]})`);
    }
    let size = 0;
    for (const id of this.hf.get_vocab(true).values()) size = Math.max(size, id + 1);
    this.vocabSize = size;
    for (const [id, tok] of this.hf.get_added_tokens_decoder()) if (tok.special) this.specialIds.add(id);
    const idOf = (t?: string) => (t === undefined ? undefined : this.tokenToId(t));
    this.bosId = idOf(settings.bosToken);
    this.eosId = idOf(settings.eosToken);
    this.padId = idOf(settings.padToken);
    this.unkId = idOf(settings.unkToken);
    for (const t of [settings.bosToken, settings.eosToken, settings.unkToken, settings.padToken, ...settings.additionalSpecialTokens]) {
      const id = idOf(t);
      if (id !== undefined) this.specialIds.add(id);
    }
    this.cleansUp = settings.cleanUpTokenizationSpaces ?? false;
  }

  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.hf.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    const skip = opts.skipSpecialTokens ?? false;
    const kept = ids.filter((id) => this.hf.id_to_token(id) !== undefined && !(skip && this.specialIds.has(id)));
    if (kept.length === 0) return ''; // the library rejects an empty list
    return this.hf.decode(kept, { skip_special_tokens: skip, clean_up_tokenization_spaces: this.cleansUp });
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  createStreamDecoder(opts: { skipSpecialTokens?: boolean } = {}): StreamDecoder {
    return createStreamDecoder((ids) => this.decode(ids, opts), this.cleansUp);
  }
}
