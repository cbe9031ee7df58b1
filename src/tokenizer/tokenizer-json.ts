import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { fail } from '../errors.ts';
import { parseJsonText, type TokenizerSettings } from './settings.ts';
import { TokenizerBase } from './tokenizer-base.ts';

/**
 * A folder that ships only a fast-tokenizer `tokenizer.json`: the whole pipeline (normalizer,
 * pre-tokenizer, model, post-processor, decoder, added tokens) is @huggingface/tokenizers', which
 * implements that format.
 */
export class TokenizerJson extends TokenizerBase {
  readonly vocabSize: number;
  protected readonly decodeCleansUp: boolean;
  private readonly hf: HfTokenizer;

  /** `file`: tokenizer.json's text and path (for messages). */
  constructor({ path: file, text }: { path: string; text: string }, config: Record<string, unknown>, settings: TokenizerSettings) {
    super();
    const json = parseJsonText(text, file);
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
    this.resolveNamedSpecialTokens(settings);
    this.decodeCleansUp = settings.cleanUpTokenizationSpaces ?? false;
  }

  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.hf.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    const skip = opts.skipSpecialTokens ?? false;
    const kept = ids.filter((id) => this.hf.id_to_token(id) !== undefined && !(skip && this.specialIds.has(id)));
    if (kept.length === 0) return ''; // the library rejects an empty list
    return this.hf.decode(kept, { skip_special_tokens: skip, clean_up_tokenization_spaces: this.decodeCleansUp });
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }
}
