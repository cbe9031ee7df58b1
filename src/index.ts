/**
 * minivl — Mini-InternVL (InternVL2-1B/2B/4B, Mini-InternVL-Chat-2B/4B-V1-5) in TypeScript on ONNX Runtime.
 * The public API for Node: the platform-free library (core.ts) plus the engine and the hub cache.
 * Everything else under src/ is internal and may change.
 */
export * from './core.ts';
export { Model } from './runtime/model.ts';
export { resolveModel } from './io/hub.ts';
