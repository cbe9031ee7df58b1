/**
 * minivl — Mini-InternVL (InternVL2-1B/2B/4B, Mini-InternVL-Chat-2B/4B-V1-5) in TypeScript on ONNX Runtime.
 * The public API; everything else under src/ is internal and may change.
 */
export {
  MiniVL, ChatSession, GenerationAbortedError, defaultSystemMessage,
  type ImageInput, type ChatRequest, type ChatResult, type ChatStream, type PreparedChat, type ImageInfo,
  type MiniVLLoadOptions, type ProgressEvent,
} from './minivl.ts';
export { MinivlError } from './errors.ts';

// Generation building blocks (for custom loops).
export { generate, checkContextLength, DEFAULT_MAX_NEW_TOKENS, type GenerationOptions, type TokenChunk, type GenerationOutput } from './generate/generate.ts';
export { buildChatPrompt, answerTexts, withImagePlaceholders, type Turn, type ChatPrompt } from './generate/chat-prompt.ts';
export { Sampler, type SamplingOptions } from './generate/sampling.ts';
export { StopController, type StopReason } from './generate/stop.ts';

// Lower layers.
export { Model, DecodeState, KVCache, type ModelLoadOptions } from './runtime/index.ts';
export { loadTokenizer, type Tokenizer, type StreamDecoder } from './tokenizer/index.ts';
export { loadImage, preprocessImage, preprocessImages, type RgbImage, type PreprocessedImage } from './image/index.ts';
export { renderPrompt, parseGrounding, getTemplate, SYSTEM_MESSAGES, type GroundedRef, type Box } from './prompt/index.ts';
export { resolveModel, type HubOptions } from './io/hub.ts';
export { loadModelConfig, type ModelConfig } from './model/config.ts';
