/**
 * The platform-free library: everything here reaches files, images, the hub and ONNX Runtime only
 * through the platform module (host/platform.ts), so it bundles for the browser with that module
 * mapped to host/browser.ts (test/host/browser-bundle.test.ts). `index.ts` adds the Node-only parts.
 */
export {
  MiniVL, ChatSession, GenerationAbortedError, defaultSystemMessage,
  type ImageInput, type ChatRequest, type ChatResult, type ChatStream, type PreparedChat, type ImageInfo,
  type MiniVLLoadOptions, type ProgressEvent,
} from './minivl.ts';
export { MinivlError } from './errors.ts';
export type { Host, Device, DeviceRequest } from './host/types.ts';

// Generation building blocks (for custom loops).
export { generate, checkContextLength, DEFAULT_MAX_NEW_TOKENS, type GenerationOptions, type TokenChunk, type GenerationOutput } from './generate/generate.ts';
export { buildChatPrompt, answerTexts, withImagePlaceholders, type Turn, type ChatPrompt } from './generate/chat-prompt.ts';
export { Sampler, type SamplingOptions } from './generate/sampling.ts';
export { StopController, type StopReason } from './generate/stop.ts';

// Lower layers.
export { DecodeState } from './runtime/decode.ts';
export { KVCache, type KVStore } from './runtime/kv-cache.ts';
export type { Model, ModelLoadOptions } from './runtime/model.ts';
export { loadTokenizer, readTokenizerFiles } from './tokenizer/load.ts';
export type { Tokenizer, StreamDecoder } from './tokenizer/types.ts';
export type { TokenizerFiles } from './tokenizer/settings.ts';
export { decodeImage as loadImage, preprocessImage, preprocessImages, type PreprocessedImage } from './image/preprocess.ts';
export type { RgbImage } from './image/types.ts';
export { renderPrompt, parseGrounding, getTemplate, SYSTEM_MESSAGES, type GroundedRef, type Box } from './prompt/index.ts';
export { loadModelConfig, type ModelConfig } from './model/config.ts';
export type { HubOptions } from './io/hub.ts';
