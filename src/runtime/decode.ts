/**
 * Incremental decoding over a Model with a KVCache: prefill once, then one token per step.
 * Sampling and stop rules belong to src/generate/; this only produces logits.
 */
import type { Model } from './model.ts';
import { KVCache } from './kv-cache.ts';

export class DecodeState {
  readonly cache: KVCache;

  constructor(readonly model: Model, maxLength = model.config.llm.maxPositionEmbeddings) {
    const { numLayers, numKvHeads, headDim } = model.config.llm;
    this.cache = new KVCache(numLayers, numKvHeads, headDim, maxLength);
  }

  /** Feeds [S, H] embeddings after the cached positions; returns the logits of the last one [vocab]. */
  async feed(embeds: Float32Array): Promise<Float32Array> {
    const r = await this.model.forward({ embeds, past: this.cache.past() });
    this.cache.append(r.presentKeys, r.presentValues);
    return r.logits;
  }

  /** Feeds one token id; returns the next logits [vocab]. */
  async step(tokenId: number): Promise<Float32Array> {
    return this.feed(await this.model.embed([tokenId]));
  }
}
