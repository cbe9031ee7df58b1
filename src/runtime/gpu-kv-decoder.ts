/**
 * Decoding with the KV cache kept on the GPU (WebGPU provider). The JS-buffer cache (kv-cache.ts) feeds
 * the whole past to every step, which on a GPU means uploading it every token (≈83 MB per token for
 * the 1B at a 3.4k context). Here the decoder graph also outputs each layer's concatenated keys/values
 * (the Concat(past, new) it computes anyway) into GPU memory (`preferredOutputLocation: gpu-buffer`,
 * onnxruntime-node 1.30), and the next step takes those tensors as its past: nothing cache-sized crosses
 * the bus, only the embeddings in and the logits out. (Reading a gpu-buffer tensor back with getData()
 * aborts the process in 1.30; this never does.)
 *
 * On webgpu (fp32 or fp16, no debug outputs) Model.load builds its decoder with these outputs — with fp16
 * computed in float16 the cache tensors (and the past inputs) are float16, half the bytes — and generate()
 * decodes through this class: one session serves both this and Model.forward (Model.runDecoder).
 * The first call has no past: it is fed the one masked stand-in row Model.forward uses, which stays at
 * the front of the cache, masked, for the rest of the sequence.
 */
import { pastKeyName, pastValueName } from '../model/decoder.ts';
import type { GraphBuilder, Value } from '../graph/builder.ts';
import { fail } from '../errors.ts';
import type { Model } from './model.ts';

/** A tensor left in GPU memory by ONNX Runtime (only disposed here; never read back). */
export interface GpuTensor {
  dispose(): void;
}

/** The cache of the previous call: per layer all its keys/values [1, KVH, rows, d], in GPU memory. */
export interface GpuPast {
  keys: GpuTensor[];
  values: GpuTensor[];
  rows: number;
}

export const fullKeyName = (i: number) => `cache_key_${i}`;
export const fullValueName = (i: number) => `cache_value_${i}`;

/**
 * Adds the Concat(past, new) of every layer's keys and values to a decoder graph as outputs, and
 * returns the output locations that keep them in GPU memory (logits and the rest: host). Returns null
 * (graph unchanged) when the graph has no such Concats (e.g. rewritten by a LoRA adapter).
 */
export function exposeCacheOutputs(g: GraphBuilder, layers: number): Record<string, 'cpu' | 'gpu-buffer'> | null {
  const byInput = new Map<string, string>();
  for (const n of g.listNodes()) if (n.opType === 'Concat') byInput.set(n.inputs[0]!, n.outputs[0]!);
  const found = Array.from({ length: layers }, (_, i) => [byInput.get(pastKeyName(i)), byInput.get(pastValueName(i))] as const);
  if (found.some(([k, v]) => !k || !v)) return null;
  found.forEach(([k, v], i) => {
    g.output({ name: k! } as Value, fullKeyName(i), 'float32');
    g.output({ name: v! } as Value, fullValueName(i), 'float32');
  });
  const where: Record<string, 'cpu' | 'gpu-buffer'> = {};
  for (const o of g.listOutputs()) where[o.name] = o.name.startsWith('cache_') ? 'gpu-buffer' : 'cpu';
  return where;
}

/** Decoding state over a Model whose decoder session has the cache outputs (Model.gpuCache). Call release() when done. */
export class GpuKVDecoder {
  private keys: GpuTensor[] = [];
  private values: GpuTensor[] = [];
  /** Rows held per layer (the masked stand-in row included). */
  private rows = 0;

  constructor(readonly model: Model) {
    if (!model.gpuCache) fail(`${model.dir}: this model's decoder keeps no KV cache on the GPU (device ${model.device})`);
  }

  /** Cached positions (the stand-in row not counted). */
  get length(): number {
    return Math.max(0, this.rows - 1);
  }

  /** Feeds [S, H] embeddings after the cached positions; returns the logits of the last one [vocab]. */
  async feed(embeds: Float32Array): Promise<Float32Array> {
    const r = await this.model.forwardGpuCache(embeds, this.rows === 0 ? null : { keys: this.keys, values: this.values, rows: this.rows });
    this.disposeCache();
    this.keys = r.keys;
    this.values = r.values;
    this.rows = r.rows;
    return r.logits;
  }

  /** Feeds one token id; returns the next logits [vocab]. */
  async step(tokenId: number): Promise<Float32Array> {
    return this.feed(await this.model.embed([tokenId]));
  }

  /** Forgets the sequence (frees its GPU buffers). */
  reset(): void {
    this.disposeCache();
    this.rows = 0;
  }

  release(): void {
    this.reset();
  }

  private disposeCache(): void {
    for (const t of [...this.keys, ...this.values]) t.dispose();
    this.keys = [];
    this.values = [];
  }
}
