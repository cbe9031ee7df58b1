/**
 * What a run leaves for inference: the LoRA adapter in PEFT's layout (adapter_config.json +
 * adapter_model.safetensors, tensors under the reference's saved names
 * `language_model.base_model.model.<module>.lora_{A,B}.default.weight`), and a merged checkpoint —
 * W' = W + (alpha/r)·B·A for every wrapped linear, trained projector tensors written back,
 * everything else copied byte for byte, `use_llm_lora`/`use_backbone_lora` reset, tokenizer files
 * copied — that loads like any released InternVL2 checkpoint.
 */
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Checkpoint } from '../../io/checkpoint.ts';
import { CONFIG_FILE, INDEX_FILE } from '../../io/checkpoint.ts';
import { writeSafetensors, type TensorToWrite } from '../../io/safetensors.ts';
import { writeJsonAtomic } from '../../io/atomic-write.ts';
import { mergeLoraWeight, moduleOfPeftName, type LoraModule, type LoraSpec } from '../../model/lora.ts';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

/**
 * `spec` is the LLM's LoRA; a ViT LoRA (`vision`) is recorded under `minivl_vision_lora` (PEFT's config
 * describes one wrapped model).
 */
export async function exportAdapter(dir: string, params: ReadonlyMap<string, Float32Array>, modules: readonly LoraModule[], spec: LoraSpec, baseModel: string, vision?: LoraSpec | null): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tensors: TensorToWrite[] = [];
  for (const m of modules) {
    tensors.push({ name: m.a, dtype: 'F32', shape: [m.rank, m.inFeatures], data: params.get(m.a)! });
    tensors.push({ name: m.b, dtype: 'F32', shape: [m.outFeatures, m.rank], data: params.get(m.b)! });
  }
  await writeSafetensors(join(dir, ADAPTER_WEIGHTS), tensors, { format: 'pt' });
  const targets = [...new Set(modules.filter((m) => m.module.startsWith('language_model.')).map((m) => m.module.split('.').slice(-2).join('.')))];
  await writeJsonAtomic(join(dir, ADAPTER_CONFIG), {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r: spec.rank,
    lora_alpha: spec.alpha ?? 2 * spec.rank,
    lora_dropout: spec.dropout ?? 0,
    bias: 'none',
    target_modules: targets,
    fan_in_fan_out: false,
    inference_mode: true,
    ...(vision ? { minivl_vision_lora: { r: vision.rank, lora_alpha: vision.alpha ?? 2 * vision.rank, lora_dropout: vision.dropout ?? 0 } } : {}),
  });
}

export interface MergeExportOptions {
  /**
   * Output dtype of the tensors that changed; default: each tensor's own dtype in the source
   * checkpoint (released checkpoints are bf16, which is what the reference saves; an f32 checkpoint
   * stays f32, so its merge reproduces the adapted model to float32 rounding).
   */
  dtype?: 'BF16' | 'F32';
  /** alpha / r of the LoRA wrapping a module. */
  scaling: (module: string) => number;
}

export async function exportMerged(
  dir: string,
  ckpt: Checkpoint,
  params: ReadonlyMap<string, Float32Array>,
  opts: MergeExportOptions,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  // LoRA pairs by module.
  const pairs = new Map<string, { a?: Float32Array; b?: Float32Array }>();
  for (const [name, v] of params) {
    const m = moduleOfPeftName(name);
    if (!m) continue;
    const p = pairs.get(m.module) ?? {};
    if (m.part === 'A') p.a = v;
    else p.b = v;
    pairs.set(m.module, p);
  }
  const tensors: TensorToWrite[] = [];
  for (const name of ckpt.names()) {
    const info = ckpt.tensor(name);
    const module = name.endsWith('.weight') ? name.slice(0, -'.weight'.length) : '';
    const pair = pairs.get(module);
    if (pair?.a && pair.b) {
      const [out, inF] = info.shape as [number, number];
      const merged = mergeLoraWeight(await ckpt.readFloat32(name), pair.a, pair.b, out, inF, opts.scaling(module));
      tensors.push({ name, dtype: opts.dtype ?? info.dtype, shape: info.shape, data: merged });
    } else if (params.has(name)) {
      tensors.push({ name, dtype: opts.dtype ?? info.dtype, shape: info.shape, data: params.get(name)! });
    } else {
      tensors.push({ name, dtype: info.dtype, shape: info.shape, data: await ckpt.readBytes(name) });
    }
  }
  await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  const config = { ...(ckpt.configJson as Record<string, unknown>), use_llm_lora: 0, use_backbone_lora: 0 };
  await writeJsonAtomic(join(dir, CONFIG_FILE), config);
  // Tokenizer and generation files as they are.
  for (const f of await readdir(ckpt.dir, { withFileTypes: true })) {
    if (!f.isFile() || f.name.endsWith('.safetensors') || f.name === CONFIG_FILE || f.name === INDEX_FILE || f.name.startsWith('.')) continue;
    await copyFile(join(ckpt.dir, f.name), join(dir, f.name));
  }
}
