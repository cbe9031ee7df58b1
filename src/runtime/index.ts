/** Library entry of the inference engine: the model, its KV cache and decoding state, parity checks. */
export { Model, type ModelLoadOptions, type ForwardArgs, type ForwardResult, type EncodeResult, type PastKV } from './model.ts';
export { KVCache, type KVStore } from './kv-cache.ts';
export { DecodeState } from './decode.ts';
export { runParity, TOLERANCES, type ParityReport, type ParityArgs } from './parity.ts';
export { relL2, argmax, argmaxAgreement, causalLmLoss } from './metrics.ts';
export { createSession, type SessionOptions } from './session.ts';
export { mergeImageEmbeds } from '../model/merge.ts';
export { Rope, positionRange, type RopeTables } from '../model/rope.ts';
