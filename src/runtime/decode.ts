/**
 * Incremental decoding over a Model with a KVCache: prefill once, then one token per step.
 * Sampling and stop rules belong to src/generate/; this only produces logits.
 */
import type { Model } from './model.ts';
import { KVCache, kvBytesPerToken, type KVStore } from './kv-cache.ts';

/**
 * Prefill rows per decoder call. fp32: 512 (its results stay bit-identical to before). Reduced
 * precisions: 256 (still compute-bound; measured no slower than 512 on the 1B int4 at a 1k prefill,
 * ~0.07 GiB less peak RSS), halved while one chunk's new keys/values exceed 64 MiB — each chunk's
 * outputs and attention scores are transient memory: on the 4B (Phi-3-mini, 384 KiB of float16 K/V
 * per row) 256 → 128 rows took its int4 peak RSS from 3.56 to 3.30 GiB.
 */
export function prefillChunk(model: Model): number {
  if (model.precision === 'fp32') return 512;
  const rowBytes = kvBytesPerToken(model.config.llm, model.kvDtype);
  let rows = 256;
  while (rows > 32 && rows * rowBytes > 64 * 2 ** 20) rows /= 2;
  return rows;
}

export class DecodeState {
  readonly cache: KVStore;

  /**
   * `maxLength`: positions this sequence may reach (e.g. prompt + answer budget; default the model's
   * context); a given one is reserved up front, so the cache grows without copies (kv-cache.ts).
   * `cache`: where keys/values live (default: a KVCache of JS buffers in the model's kvDtype).
   */
  constructor(readonly model: Model, maxLength?: number, cache?: KVStore) {
    const { numLayers, numKvHeads, headDim, maxPositionEmbeddings } = model.config.llm;
    this.cache = cache ?? new KVCache(numLayers, numKvHeads, headDim, maxLength ?? maxPositionEmbeddings, undefined, model.kvDtype, maxLength);
  }

  /**
   * Feeds [S, H] embeddings after the cached positions; returns the logits of the last one [vocab].
   * Long inputs run in chunks of `chunkSize` positions so the attention scores stay
   * [heads, chunk, total] instead of [heads, S, S]; RoPE sees the whole input's length in every
   * chunk, so the result equals one unchunked call. Default: prefillChunk(model).
   */
  async feed(embeds: Float32Array, chunkSize = prefillChunk(this.model)): Promise<Float32Array> {
    const H = this.model.config.llm.hiddenSize;
    const S = embeds.length / H;
    const ropeLength = this.cache.length + S;
    let logits: Float32Array | null = null;
    for (let at = 0; at < S; at += chunkSize) {
      const n = Math.min(chunkSize, S - at);
      const r = await this.model.forward({ embeds: embeds.subarray(at * H, (at + n) * H), past: this.cache.past(), ropeLength });
      this.cache.append(r.presentKeys, r.presentValues);
      logits = r.logits;
    }
    return logits ?? new Float32Array(0);
  }

  /** Feeds one token id; returns the next logits [vocab]. */
  async step(tokenId: number): Promise<Float32Array> {
    return this.feed(await this.model.embed([tokenId]));
  }
}
