/**
 * The KV cache lives in JS buffers (ORT copies every output, inputs are zero-copy; ORT-NOTES.md):
 * per layer one sequence-major [capacity, KVH, headDim] buffer for keys and one for values. The past
 * is fed as zero-copy prefix views; each call's new keys/values are appended with `set`. Capacity
 * grows by doubling (amortized O(1) per token), so the cache is never copied per token.
 */
import { fail } from '../errors.ts';
import type { PastKV } from './model.ts';

export class KVCache {
  private keys: Float32Array[];
  private values: Float32Array[];
  private capacity: number;
  /** Number of cached positions. */
  length = 0;
  private readonly row: number;

  constructor(
    readonly numLayers: number,
    readonly numKvHeads: number,
    readonly headDim: number,
    /** Hard limit on positions (the model's context). */
    readonly maxLength: number,
    initialCapacity = 256,
  ) {
    this.row = numKvHeads * headDim;
    this.capacity = Math.min(Math.max(1, initialCapacity), maxLength);
    this.keys = Array.from({ length: numLayers }, () => new Float32Array(this.capacity * this.row));
    this.values = Array.from({ length: numLayers }, () => new Float32Array(this.capacity * this.row));
  }

  /** Zero-copy views of the cached prefix, in the decoder's past layout. */
  past(): PastKV {
    const n = this.length * this.row;
    return {
      length: this.length,
      keys: this.keys.map((k) => k.subarray(0, n)),
      values: this.values.map((v) => v.subarray(0, n)),
    };
  }

  /** Appends one call's new keys/values (per layer [S, KVH, headDim]). */
  append(presentKeys: Float32Array[], presentValues: Float32Array[]): void {
    if (presentKeys.length !== this.numLayers || presentValues.length !== this.numLayers) {
      fail(`KV cache: expected ${this.numLayers} layers of new keys/values, got ${presentKeys.length}/${presentValues.length}`);
    }
    const S = presentKeys[0]!.length / this.row;
    const need = this.length + S;
    if (need > this.maxLength) fail(`KV cache: ${need} positions exceed the maximum of ${this.maxLength}`);
    if (need > this.capacity) this.grow(need);
    const off = this.length * this.row;
    for (let i = 0; i < this.numLayers; i++) {
      this.keys[i]!.set(presentKeys[i]!, off);
      this.values[i]!.set(presentValues[i]!, off);
    }
    this.length = need;
  }

  /** Forgets positions from `length` on (e.g. to start a new turn from a shared prefix). */
  truncate(length: number): void {
    if (length < 0 || length > this.length) fail(`KV cache: cannot truncate ${this.length} positions to ${length}`);
    this.length = length;
  }

  private grow(need: number): void {
    let cap = this.capacity;
    while (cap < need) cap *= 2;
    cap = Math.min(cap, this.maxLength);
    const n = this.length * this.row;
    const re = (a: Float32Array) => {
      const b = new Float32Array(cap * this.row);
      b.set(a.subarray(0, n));
      return b;
    };
    this.keys = this.keys.map(re);
    this.values = this.values.map(re);
    this.capacity = cap;
  }
}
