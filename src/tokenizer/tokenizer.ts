import { AddedTokenSplitter } from './added-tokens.ts';
import { namedSpecialTokens, type AddedTokenSpec, type TokenizerSettings } from './settings.ts';
import { TokenizerBase } from './tokenizer-base.ts';

/** One id handed to a model's decoder: its string (added-token content or model piece). */
export interface DecodeToken {
  id: number;
  text: string;
  added?: AddedTokenSpec;
}

/** The model-specific part under transformers' common added-token layer. */
export interface TokenModel {
  /** Number of ids the model itself defines. */
  readonly size: number;
  pieceToId(piece: string): number | undefined;
  idToPiece(id: number): string | undefined;
  /** Ids of one text segment between added tokens; `atInputStart`: it begins at offset 0 of the input. */
  encodeSegment(text: string, atInputStart: boolean): number[];
  /** Text of the (already filtered) tokens. */
  decode(tokens: DecodeToken[]): string;
  /** Whether decode applies transformers' clean-up rules (the stream decoder must hold back text). */
  readonly cleansUp: boolean;
}

/** The id <-> piece lookups of an underlying model (SentencePiece or byte-level BPE). */
export interface PieceVocab {
  readonly size: number;
  pieceToId(piece: string): number | undefined;
  idToPiece(id: number): string | undefined;
}

/** Base of the family models: the vocabulary lookups are the underlying model's; families add encode/decode rules. */
export abstract class VocabModel implements TokenModel {
  abstract readonly cleansUp: boolean;

  constructor(private readonly vocab: PieceVocab) {}

  get size(): number {
    return this.vocab.size;
  }
  pieceToId(piece: string): number | undefined {
    return this.vocab.pieceToId(piece);
  }
  idToPiece(id: number): string | undefined {
    return this.vocab.idToPiece(id);
  }
  abstract encodeSegment(text: string, atInputStart: boolean): number[];
  abstract decode(tokens: DecodeToken[]): string;
}

export interface WrapperDefaults {
  addBosToken: boolean;
  addEosToken: boolean;
}

/**
 * transformers' tokenizer wrapper: added tokens (split out before the model runs, with their strip
 * flags), BOS/EOS insertion, special-token skipping on decode and id <-> token lookups. Flags come
 * from the checkpoint's files; `defaults` are the class defaults for flags the files omit.
 */
export class WrappedTokenizer extends TokenizerBase {
  readonly vocabSize: number;
  private readonly addedById = new Map<number, AddedTokenSpec>();
  private readonly addedByContent = new Map<string, AddedTokenSpec>();
  private readonly splitter: AddedTokenSplitter;
  private readonly addBos: boolean;
  private readonly addEos: boolean;

  constructor(
    readonly settings: TokenizerSettings,
    readonly model: TokenModel,
    defaults: WrapperDefaults,
  ) {
    super();
    for (const t of settings.addedTokens) {
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
      if (t.special) this.specialIds.add(t.id);
    }
    this.resolveNamedSpecialTokens(settings);
    const named = namedSpecialTokens(settings);
    const maxAdded = settings.addedTokens.reduce((m, t) => Math.max(m, t.id + 1), 0);
    this.vocabSize = Math.max(model.size, maxAdded);
    // Named special tokens that only the model vocabulary defines (older folders without
    // added_tokens_decoder) are still never split, as transformers registers them as added tokens.
    const added = [...settings.addedTokens];
    for (const content of named) {
      if (content === undefined || this.addedByContent.has(content)) continue;
      const id = model.pieceToId(content);
      if (id === undefined || this.addedById.has(id)) continue;
      const spec = { id, content, lstrip: false, rstrip: false, singleWord: false, normalized: false, special: true };
      this.addedById.set(id, spec);
      this.addedByContent.set(content, spec);
      added.push(spec);
    }
    // With split_special_tokens, special tokens in the text are tokenized as plain text.
    const matchable = settings.splitSpecialTokens ? added.filter((t) => !t.special) : added;
    this.splitter = new AddedTokenSplitter(matchable);
    this.addBos = (settings.addBosToken ?? defaults.addBosToken) && this.bosId !== undefined;
    this.addEos = (settings.addEosToken ?? defaults.addEosToken) && this.eosId !== undefined;
  }

  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    const special = opts.addSpecialTokens ?? true;
    const ids: number[] = [];
    if (special && this.addBos) ids.push(this.bosId!);
    for (const seg of this.splitter.split(text)) {
      if (seg.token) ids.push(seg.token.id);
      else for (const id of this.model.encodeSegment(seg.text, seg.start === 0)) ids.push(id);
    }
    if (special && this.addEos) ids.push(this.eosId!);
    return ids;
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    const skip = opts.skipSpecialTokens ?? false;
    const tokens: DecodeToken[] = [];
    for (const id of ids) {
      if (skip && this.specialIds.has(id)) continue;
      const added = this.addedById.get(id);
      const text = added?.content ?? this.model.idToPiece(id);
      if (text === undefined) continue; // ids outside the vocabulary (e.g. padded embedding rows) decode to nothing
      tokens.push({ id, text, added });
    }
    return this.model.decode(tokens);
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.model.pieceToId(token);
  }

  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.model.idToPiece(id);
  }

  protected get decodeCleansUp(): boolean {
    return this.model.cleansUp;
  }
}
