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
  /** ORT's CPU memory arena (default on); off returns each run's buffers to the allocator when freed. */
  cpuMemArena?: boolean;
  /** ONNX Runtime's verbose log on stderr (node placements, kernels). */
  verbose?: boolean;
}

export async function createSession(modelBytes: Uint8Array, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  const session: Record<string, string> = {};
  if (opts.externalFolder) session.model_external_initializers_file_folder_path = opts.externalFolder;
  if (opts.disablePrepacking) session.disable_prepacking = '1';
  // DynamicQuantizeMatMul (int8 'channels' linears) runs u8s8 products; on CPUs without VNNI their
  // 16-bit intermediate sums can saturate, and this makes ORT switch those weights to u8u8 (no-op with VNNI).
  session['session.x64quantprecision'] = '1';
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [PROVIDERS[opts.device ?? 'cpu'] ?? fail(`unknown device '${opts.device}' (supported: ${Object.keys(PROVIDERS).join(', ')})`)],
    // 'basic' or higher folds bf16→f32 Casts and weight Transposes once at creation.
    graphOptimizationLevel: 'all',
    intraOpNumThreads: opts.intraOpNumThreads ?? host.cpuCount(),
    interOpNumThreads: 1,
    // Per-shape memory patterns kept ~0.05 GiB more arena after prefill chunks of varying cache
    // length (1B int4), at no measured speed cost when off.
    enableMemPattern: false,
    ...(opts.cpuMemArena === false ? { enableCpuMemArena: false } : {}),
    // ORT's own warnings go straight to stderr; on WebGPU it warns on every session that shape
    // arithmetic stays on the CPU (by design). Errors still show.
    ...(opts.device === 'webgpu' ? { logSeverityLevel: 3 as const } : {}),
    // The label names each session's lines in ONNX Runtime's log (sessions are created concurrently).
    ...(opts.verbose ? { logSeverityLevel: 0 as const, logVerbosityLevel: 0, ...(opts.label ? { logId: opts.label } : {}) } : {}),
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
