import { fail } from '../errors.ts';
import { PieceMerger } from './piece-merger.ts';
import { PieceType, type SentencePieceModel } from './sentencepiece-model.ts';
import { decodeUtf8PerByte, escapeRegExp } from './text.ts';

export const SPACE_SYMBOL = '\u2581'; // ▁
const utf8 = new TextEncoder();

/**
 * Which adjacent pair merges first.
 * - `score`: SentencePiece's own rule — highest score of the merged piece, ties to the leftmost pair.
 * - `id`: lowest id of the merged piece, ties to the leftmost pair — the order of the merges list
 *   that transformers 5 derives from a SentencePiece model (the Llama/Phi-3 goldens follow it; it
 *   differs from `score` only on pieces such as `▁▁` whose score is -1e9).
 */
export type MergePriority = 'score' | 'id';

/**
 * A SentencePiece BPE model: normalization, user-defined pieces, merges and byte fallback, plus
 * SentencePiece's piece-level decoding.
 *
 * As in sentencepiece's bpe_model.cc, merges may form any NORMAL or USER_DEFINED piece (see
 * piece-merger.ts); USER_DEFINED pieces found in the text are frozen symbols (never merged); a final
 * symbol that is not a piece becomes byte pieces (byte_fallback) or `<unk>`. UNUSED pieces are left
 * out (sentencepiece merges and then re-splits them; none of the supported checkpoints has one).
 */
export class SentencePieceBpe {
  readonly pieces: SentencePieceModel['pieces'];
  private readonly pieceIds = new Map<string, number>();
  private readonly byteIds: number[] = [];
  private readonly merger: PieceMerger;
  private readonly userDefined?: RegExp;

  constructor(
    readonly model: SentencePieceModel,
    priority: MergePriority,
    file: string,
  ) {
    if (model.modelType !== 'BPE') fail(`${file}: SentencePiece model type ${model.modelType} is not supported (only BPE)`);
    this.pieces = model.pieces;
    // Pieces the merge loop may form and emit: NORMAL and USER_DEFINED.
    const userDefined: string[] = [];
    model.pieces.forEach((p, id) => {
      if (!this.pieceIds.has(p.piece)) this.pieceIds.set(p.piece, id);
      if (p.type === PieceType.BYTE) this.byteIds[parseInt(p.piece.slice(3, 5), 16)] = id;
      if (p.type === PieceType.USER_DEFINED) userDefined.push(p.piece);
    });
    const mergeable = (id: number) => model.pieces[id].type === PieceType.NORMAL || model.pieces[id].type === PieceType.USER_DEFINED;
    const ranks = new Int32Array(model.pieces.length);
    const scoreRank = priority === 'score' ? denseScoreRanks(model.pieces) : undefined;
    for (let id = 0; id < ranks.length; id++) ranks[id] = scoreRank ? scoreRank(id) : id;
    this.merger = new PieceMerger(
      model.pieces.map((p) => p.piece),
      mergeable,
      ranks,
      (text, out) => {
        // A symbol that is no piece: its UTF-8 bytes as byte pieces, or <unk>.
        if (model.byteFallback && this.byteIds.length === 256) for (const b of utf8.encode(text)) out.push(this.byteIds[b]);
        else out.push(model.unkId);
      },
    );

    if (userDefined.length > 0) {
      userDefined.sort((a, b) => b.length - a.length);
      this.userDefined = new RegExp(userDefined.map(escapeRegExp).join('|'), 'g');
    }
    // Only the identity normalizer is implemented: a precompiled charsmap (nmt_nfkc, ...) is a
    // compiled trie that no JS library here applies exactly, and no supported checkpoint uses one.
    const name = model.normalizerName;
    if ((name !== '' && name !== 'identity') || model.precompiledCharsmap.length > 0) {
      fail(`${file}: SentencePiece normalizer "${name}" (precompiled charsmap) is not supported; only "identity"`);
    }
  }

  get size(): number {
    return this.pieces.length;
  }

  pieceToId(piece: string): number | undefined {
    return this.pieceIds.get(piece);
  }

  idToPiece(id: number): string | undefined {
    return this.pieces[id]?.piece;
  }

  isByte(id: number): boolean {
    return this.pieces[id]?.type === PieceType.BYTE;
  }

  /**
   * SentencePiece's own normalizer (identity rules): extra-whitespace removal, space → `▁`, and
   * the dummy `▁` prefix when asked (sentencepiece adds it to any non-empty text).
   */
  normalize(text: string, dummyPrefix: boolean): string {
    if (this.model.removeExtraWhitespaces) text = text.replace(/ +/g, ' ').replace(/^ | $/g, '');
    if (text === '') return '';
    if (this.model.escapeWhitespaces) text = text.replaceAll(' ', SPACE_SYMBOL);
    if (dummyPrefix) text = this.model.treatWhitespaceAsSuffix ? text + SPACE_SYMBOL : SPACE_SYMBOL + text;
    return text;
  }

  /** Encodes already-normalized text (spaces already `▁`). */
  encodeNormalized(text: string): number[] {
    const ids: number[] = [];
    if (text === '') return ids;
    if (!this.userDefined) {
      this.pushWord(text, ids);
      return ids;
    }
    // USER_DEFINED pieces are frozen: the text between them merges independently.
    const re = this.userDefined;
    re.lastIndex = 0;
    let last = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      if (m.index > last) this.pushWord(text.slice(last, m.index), ids);
      ids.push(this.pieceIds.get(m[0])!);
      last = m.index + m[0].length;
    }
    if (last < text.length) this.pushWord(text.slice(last), ids);
    return ids;
  }

  private pushWord(word: string, ids: number[]): void {
    this.merger.encode(word, ids);
  }

  /**
   * SentencePiece's DecodeIds: control pieces vanish, `<unk>` shows its surface, runs of byte pieces
   * become UTF-8 (one U+FFFD per invalid byte), `▁` becomes a space, and the leading `▁` of the first
   * visible piece is dropped when the model adds a dummy prefix (or removes extra whitespace).
   */
  decode(ids: number[]): string {
    let out = '';
    let bytes: number[] = [];
    const stripFirst = this.model.addDummyPrefix || this.model.removeExtraWhitespaces;
    const flush = () => {
      if (bytes.length === 0) return;
      out += decodeUtf8PerByte(Uint8Array.from(bytes));
      bytes = [];
    };
    for (const id of ids) {
      const p = this.pieces[id];
      if (!p) continue;
      if (p.type === PieceType.BYTE) {
        bytes.push(parseInt(p.piece.slice(3, 5), 16));
        continue;
      }
      flush();
      if (p.type === PieceType.CONTROL) continue;
      if (p.type === PieceType.UNKNOWN) {
        out += this.model.unkSurface;
        continue;
      }
      let piece = p.piece;
      if (out === '' && stripFirst && piece.startsWith(SPACE_SYMBOL)) piece = piece.slice(1);
      out += piece.replaceAll(SPACE_SYMBOL, ' ');
    }
    flush();
    return out;
  }
}

/** Rank = position of the piece's score among the distinct scores, highest first (equal scores share a rank). */
function denseScoreRanks(pieces: SentencePieceModel['pieces']): (id: number) => number {
  const distinct = [...new Set(pieces.map((p) => p.score))].sort((a, b) => b - a);
  const rankOfScore = new Map(distinct.map((s, i) => [s, i]));
  return (id) => rankOfScore.get(pieces[id].score)!;
}
