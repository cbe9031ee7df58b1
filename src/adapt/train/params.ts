/**
 * The trainable tensors of a run: initial values (LoRA A Kaiming-uniform as PEFT's default, B zero;
 * projector tensors from the checkpoint) and their safetensors form for checkpoints.
 */
import type { Checkpoint } from '../../io/checkpoint.ts';
import { SafetensorsFile, writeSafetensors } from '../../io/safetensors.ts';
import { moduleOfPeftName } from '../../model/lora.ts';
import type { TrainableTensor } from '../../model/training.ts';
import { fail } from '../../errors.ts';
import { generator, STREAM } from './rng.ts';

export type ParamMap = Map<string, Float32Array>;

/**
 * PEFT's reset_lora_parameters: A ~ kaiming_uniform_(a = √5) → U(−1/√in, 1/√in), B = 0. Other
 * tensors start from the checkpoint (widened to float32).
 */
export async function initialParams(tensors: readonly TrainableTensor[], ckpt: Checkpoint, seed: number): Promise<ParamMap> {
  const out: ParamMap = new Map();
  for (const [k, t] of tensors.entries()) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const lora = moduleOfPeftName(t.name);
    if (!lora) out.set(t.name, await ckpt.readFloat32(t.name));
    else if (lora.part === 'B') out.set(t.name, new Float32Array(n));
    else {
      const bound = 1 / Math.sqrt(t.shape[1]!);
      const next = generator(seed, STREAM.loraInit, k);
      out.set(t.name, Float32Array.from({ length: n }, () => (2 * next() - 1) * bound));
    }
  }
  return out;
}

export async function saveParams(path: string, params: ReadonlyMap<string, Float32Array>, shapes: ReadonlyMap<string, number[]>, metadata?: Record<string, string>): Promise<void> {
  await writeSafetensors(path, [...params].map(([name, data]) => ({ name, dtype: 'F32' as const, shape: shapes.get(name) ?? [data.length], data })), metadata);
}

/** Reads float32 tensors by name; every name of `expected` must be present with its size. */
export async function loadParams(path: string, expected: readonly TrainableTensor[]): Promise<ParamMap> {
  const f = await SafetensorsFile.open(path);
  const out: ParamMap = new Map();
  for (const t of expected) {
    if (!f.has(t.name)) fail(`${path}: no tensor '${t.name}' (a checkpoint of another run?)`);
    const v = await f.readFloat32(t.name);
    if (v.length !== t.shape.reduce((a, b) => a * b, 1)) fail(`${path}: tensor '${t.name}' has the wrong size`);
    out.set(t.name, v);
  }
  return out;
}
