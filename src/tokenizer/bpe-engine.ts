import * as hf from '@huggingface/tokenizers';

/** The parts of the library's `BPE` model we use (its package types do not resolve `BPE` under NodeNext). */
interface BpeModel {
  tokens_to_ids: Map<string, number>;
  bpe_ranks: Map<string, number>;
  unk_token?: string;
  unk_token_id?: number;
  encode(tokens: string[]): string[];
}
const BPE = (hf as unknown as { BPE: new (config: object) => BpeModel }).BPE;

/**
 * The merge loop of @huggingface/tokenizers' `BPE` model (a heap over adjacent pairs; ties go to
 * the leftmost pair; an LRU cache per word), fed with our own vocabulary and merge ranks. Used for
 * byte-level BPE, whose pre-tokenizer keeps words short. (SentencePiece input is not pre-split, and
 * this loop is far too slow on million-symbol words — see piece-merger.ts.)
 *
 * We build the `BPE` object with an empty config and install `tokens_to_ids` / `bpe_ranks`
 * ourselves so that the vocabulary Map is shared, not rebuilt from an object. Keys of `bpe_ranks`
 * are `JSON.stringify([left, right])`, the form the library looks up.
 */
export class MergeEngine {
  private readonly bpe: BpeModel;

  constructor(
    vocab: Map<string, number>,
    ranks: Map<string, number>,
    opts: { byteFallback: boolean; unkToken?: string },
  ) {
    this.bpe = new BPE({ type: 'BPE', vocab: {}, merges: [], byte_fallback: opts.byteFallback, unk_token: opts.unkToken });
    this.bpe.tokens_to_ids = vocab;
    this.bpe.bpe_ranks = ranks;
    this.bpe.unk_token = opts.unkToken;
    this.bpe.unk_token_id = opts.unkToken === undefined ? undefined : vocab.get(opts.unkToken);
  }

  /** Merges one word (code points as initial symbols); unknown symbols become byte pieces or unk. */
  encodeWord(word: string): string[] {
    return this.bpe.encode([word]);
  }
}

/** The key `MergeEngine` priorities are stored under. */
export const mergeKey = (left: string, right: string): string => JSON.stringify([left, right]);
