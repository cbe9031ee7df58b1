/**
 * ONNX Runtime session creation (CPU or WebGPU provider). Model bytes are passed in memory and the
 * external initializers resolve against the checkpoint's real folder, so nothing is written there.
 */
import ort from './ort.ts';
import { fail, MinivlError } from '../errors.ts';
import { host } from '../host/platform.ts';
import type { Device } from '../host/types.ts';

/** The ONNX Runtime execution provider of each device. */
const PROVIDERS: Readonly<Record<Device, string>> = { cpu: 'cpu', webgpu: 'webgpu' };

export interface SessionOptions {
  /** Folder that external-data `location`s are relative to (the checkpoint's real folder). */
  externalFolder?: string | null;
  /** Threads for one op (default: all available cores). */
  intraOpNumThreads?: number;
  /** Skip weight prepacking: much faster session creation, about the same speed (measured on the CPU provider). */
  disablePrepacking?: boolean;
  /** Execution device (default `cpu`). */
  device?: Device;
  /** Name used in error messages. */
  label?: string;
  /** Outputs to leave in GPU memory (`gpu-buffer`: fed back as inputs without a copy to the host). */
  preferredOutputLocation?: Record<string, 'cpu' | 'gpu-buffer'>;
}

export async function createSession(modelBytes: Uint8Array, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  const session: Record<string, string> = {};
  if (opts.externalFolder) session.model_external_initializers_file_folder_path = opts.externalFolder;
  if (opts.disablePrepacking) session.disable_prepacking = '1';
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [PROVIDERS[opts.device ?? 'cpu'] ?? fail(`unknown device '${opts.device}' (supported: ${Object.keys(PROVIDERS).join(', ')})`)],
    // 'basic' or higher folds bf16→f32 Casts and weight Transposes once at creation.
    graphOptimizationLevel: 'all',
    intraOpNumThreads: opts.intraOpNumThreads ?? host.cpuCount(),
    interOpNumThreads: 1,
    // ORT's own warnings go straight to stderr; on WebGPU it warns on every session that shape
    // arithmetic stays on the CPU (by design). Errors still show.
    ...(opts.device === 'webgpu' ? { logSeverityLevel: 3 as const } : {}),
    extra: { session },
    ...(opts.preferredOutputLocation ? { preferredOutputLocation: opts.preferredOutputLocation } : {}),
  };
  try {
    return await ort.InferenceSession.create(modelBytes, options);
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    throw new MinivlError(`${opts.label ?? 'model'}: ONNX Runtime could not create the session: ${msg}`);
  }
}

export { ort };
