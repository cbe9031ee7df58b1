import protobuf from 'protobufjs';
import { fail } from '../errors.ts';

/**
 * The subset of SentencePiece's `sentencepiece_model.proto` (ModelProto) that encoding and decoding
 * need. Field numbers and defaults are those of the upstream schema; unknown fields are skipped.
 */
const SCHEMA = `
syntax = "proto2";
message ModelProto {
  message SentencePiece {
    enum Type { NORMAL = 1; UNKNOWN = 2; CONTROL = 3; USER_DEFINED = 4; UNUSED = 5; BYTE = 6; }
    optional string piece = 1;
    optional float score = 2;
    optional Type type = 3;
  }
  repeated SentencePiece pieces = 1;
  optional TrainerSpec trainer_spec = 2;
  optional NormalizerSpec normalizer_spec = 3;
}
message TrainerSpec {
  enum ModelType { UNIGRAM = 1; BPE = 2; WORD = 3; CHAR = 4; }
  optional ModelType model_type = 3;
  optional int32 vocab_size = 4;
  optional bool treat_whitespace_as_suffix = 24;
  optional bool byte_fallback = 35;
  optional int32 unk_id = 40;
  optional int32 bos_id = 41;
  optional int32 eos_id = 42;
  optional int32 pad_id = 43;
  optional string unk_surface = 44;
}
message NormalizerSpec {
  optional string name = 1;
  optional bytes precompiled_charsmap = 2;
  optional bool add_dummy_prefix = 3;
  optional bool remove_extra_whitespaces = 4;
  optional bool escape_whitespaces = 5;
}
`;

export enum PieceType {
  NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  USER_DEFINED = 4,
  UNUSED = 5,
  BYTE = 6,
}

export interface SentencePieceModel {
  pieces: { piece: string; score: number; type: PieceType }[];
  modelType: 'UNIGRAM' | 'BPE' | 'WORD' | 'CHAR';
  byteFallback: boolean;
  treatWhitespaceAsSuffix: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  unkSurface: string;
  normalizerName: string;
  precompiledCharsmap: Uint8Array;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

let modelType: protobuf.Type | undefined;
function modelProtoType(): protobuf.Type {
  modelType ??= protobuf.parse(SCHEMA, { keepCase: true }).root.lookupType('ModelProto');
  return modelType;
}

const MODEL_TYPES = ['UNIGRAM', 'BPE', 'WORD', 'CHAR'] as const;

/**
 * Parses a serialized SentencePiece ModelProto. Pieces are taken as stored — including pieces that
 * hold control characters such as NUL (InternLM2's id 354), which sentencepiece 0.2.x refuses.
 */
export function parseSentencePieceModel(bytes: Uint8Array, file: string): SentencePieceModel {
  let msg: Record<string, any>;
  try {
    const t = modelProtoType();
    // No `defaults`: absent fields stay undefined and get the upstream defaults below.
    msg = t.toObject(t.decode(bytes), { enums: Number, bytes: Array }) as Record<string, any>;
  } catch (e) {
    fail(`${file}: not a valid SentencePiece model (${(e as Error).message.split('\n')[0]})`);
  }
  const rawPieces = (msg.pieces ?? []) as { piece: string; score: number; type: number }[];
  if (rawPieces.length === 0) fail(`${file}: not a valid SentencePiece model (it holds no pieces)`);
  const pieces = rawPieces.map((p, i) => {
    if (!p.piece && p.type !== PieceType.UNUSED) {
      fail(`${file}: not a valid SentencePiece model (piece ${i} is empty)`);
    }
    if (p.type !== undefined && !(p.type >= 1 && p.type <= 6)) fail(`${file}: not a valid SentencePiece model (piece ${i} has unknown type ${p.type})`);
    return { piece: p.piece ?? '', score: p.score ?? 0, type: (p.type ?? PieceType.NORMAL) as PieceType };
  });
  const trainer = msg.trainer_spec ?? {};
  const norm = msg.normalizer_spec ?? {};
  const mt = MODEL_TYPES[(trainer.model_type ?? 1) - 1];
  if (!mt) fail(`${file}: not a valid SentencePiece model (unknown model_type ${trainer.model_type})`);
  return {
    pieces,
    modelType: mt,
    byteFallback: !!trainer.byte_fallback,
    treatWhitespaceAsSuffix: !!trainer.treat_whitespace_as_suffix,
    unkId: trainer.unk_id ?? 0,
    bosId: trainer.bos_id ?? 1,
    eosId: trainer.eos_id ?? 2,
    padId: trainer.pad_id ?? -1,
    unkSurface: trainer.unk_surface ?? ' \u2047 ',
    normalizerName: norm.name ?? '',
    precompiledCharsmap: Uint8Array.from(norm.precompiled_charsmap ?? []),
    addDummyPrefix: norm.add_dummy_prefix ?? true,
    removeExtraWhitespaces: norm.remove_extra_whitespaces ?? true,
    escapeWhitespaces: norm.escape_whitespaces ?? true,
  };
}
