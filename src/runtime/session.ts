/**
 * ONNX Runtime session creation (CPU provider, float32). Model bytes are passed in memory and the
 * external initializers resolve against the checkpoint's real folder, so nothing is written there.
 */
import ort from './ort.ts';
import { availableParallelism } from 'node:os';
import { MinivlError } from '../errors.ts';

export interface SessionOptions {
  /** Folder that external-data `location`s are relative to (the checkpoint's real folder). */
  externalFolder?: string | null;
  /** Threads for one op (default: all available cores). */
  intraOpNumThreads?: number;
  /** Skip weight prepacking: much faster session creation, about the same speed (ORT-NOTES.md). */
  disablePrepacking?: boolean;
  /** Name used in error messages. */
  label?: string;
}

export async function createSession(modelBytes: Uint8Array, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  const session: Record<string, string> = {};
  if (opts.externalFolder) session.model_external_initializers_file_folder_path = opts.externalFolder;
  if (opts.disablePrepacking) session.disable_prepacking = '1';
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    // 'basic' or higher folds bf16→f32 Casts and weight Transposes once at creation (ORT-NOTES.md).
    graphOptimizationLevel: 'all',
    intraOpNumThreads: opts.intraOpNumThreads ?? availableParallelism(),
    interOpNumThreads: 1,
    extra: { session },
  };
  try {
    return await ort.InferenceSession.create(modelBytes, options);
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    throw new MinivlError(`${opts.label ?? 'model'}: ONNX Runtime could not create the session: ${msg}`);
  }
}

export { ort };
