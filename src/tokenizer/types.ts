/** Incremental decoder for generated ids (see stream-decoder.ts). */
export interface StreamDecoder {
  /** Adds one id; returns the text that is now final (may be ''). */
  push(id: number): string;
  /** Returns whatever text is still held back (call once at the end). */
  flush(): string;
}

export interface Tokenizer {
  /** Ids as `tokenizer(text)["input_ids"]`: added tokens split out, BOS/EOS per the files by default. */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  bosId?: number;
  eosId?: number;
  padId?: number;
  unkId?: number;
  /** Model vocabulary plus added tokens (transformers' `len(tokenizer)`). */
  vocabSize: number;
  /** Ids that `skipSpecialTokens` drops. */
  specialIds: Set<number>;
  createStreamDecoder(opts?: { skipSpecialTokens?: boolean }): StreamDecoder;
}
