/**
 * What `src/runtime/ort.ts` becomes in the browser build (web/build.mjs maps it here): onnxruntime-web
 * (WebGPU, falling back to WASM SIMD threads) behind the interface the engine uses. One difference is
 * bridged here: in Node the external initializers resolve against a folder on disk
 * (`model_external_initializers_file_folder_path`); in a tab there is no disk, so the checkpoint's
 * safetensors bytes registered by the web host (web/platform.ts) are handed over as `externalData`.
 */
import * as ort from 'onnxruntime-web/webgpu';

/** The safetensors files of the checkpoint being loaded: file name (external-data location) → bytes. */
export const externalFiles = new Map<string, Uint8Array>();

// The .wasm files sit beside app.js (web/build.mjs copies them).
ort.env.wasm.wasmPaths = new URL('./', import.meta.url).href;

type CreateArgs = Parameters<typeof ort.InferenceSession.create>;

const createNow = ort.InferenceSession.create.bind(ort.InferenceSession) as (...a: CreateArgs) => Promise<ort.InferenceSession>;
// onnxruntime-web refuses to create a WebGPU session while another is being created ("another WebGPU
// EP inference session is being created"); the engine opens its three at once, so they queue here.
let queue: Promise<unknown> = Promise.resolve();
const create = (...a: CreateArgs): Promise<ort.InferenceSession> => {
  const next = queue.then(() => createNow(...a));
  queue = next.catch(() => {});
  return next;
};
const InferenceSession = Object.assign(Object.create(ort.InferenceSession) as typeof ort.InferenceSession, {
  create(model: Uint8Array, options: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
    const extra = (options.extra ?? {}) as { session?: Record<string, string> };
    const folder = extra.session?.model_external_initializers_file_folder_path;
    if (folder === undefined) return create(model, options);
    const { model_external_initializers_file_folder_path: _, ...session } = extra.session!;
    const externalData = [...externalFiles].map(([path, data]) => ({ path, data }));
    return create(model, { ...options, extra: { ...extra, session }, externalData });
  },
});

export default { ...ort, InferenceSession, Tensor: ort.Tensor, env: ort.env };
