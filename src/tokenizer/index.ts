/**
 * Tokenizers of the Mini-InternVL checkpoints: Qwen2 byte-level BPE (InternVL2-1B), InternLM2
 * SentencePiece (InternVL2-2B, Mini-InternVL-Chat-2B-V1-5), Llama-2 SentencePiece with Phi-3 chat
 * tokens (InternVL2-4B, Mini-InternVL-Chat-4B-V1-5), or any `tokenizer.json`.
 */
export { loadTokenizer, readTokenizerFiles } from './load.ts';
export type { TokenizerFiles } from './settings.ts';
export type { Tokenizer, StreamDecoder } from './types.ts';
