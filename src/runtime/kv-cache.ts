/**
 * The KV cache lives in JS buffers (onnxruntime-node copies every output, inputs are zero-copy):
 * per layer one head-major [KVH, capacity, headDim] buffer for keys and one for values. The decoder
 * reads the whole buffers in place (rows past `length` are masked), so nothing cache-sized is copied
 * per token; each call's new keys/values ([KVH, S, headDim]) are appended with one `set` per head.
 *
 * The capacity the decoder sees grows in steps of `GROWTH` rows rather than by doubling: attention
 * reads every row of it, so a doubled capacity could cost up to 2× the attention reads. It lives at the
 * start of a larger backing buffer per layer when one was reserved (`reserveRows`: e.g. the prompt +
 * the answer budget): growing then re-lays the heads out in place (copyWithin, last head first)
 * instead of allocating — no dead buffers for the GC (the 4B's cache is 0.4 GB at 1k context even in
 * float16) — and the attention of a chunked prefill reads only the rows reached so far. Without a
 * reservation the backing grows with the capacity (one copy per 256 tokens: ≈0.4 MB per token
 * amortized at 4k context on the 1B model).
 */
import { fail } from '../errors.ts';
import type { PastKV } from './model.ts';

/** Element type of a JS-held KV cache; float16 is held as its raw bits (Uint16Array), as ONNX Runtime takes it. */
export type KVDtype = 'float32' | 'float16';
export type KVArray = Float32Array | Uint16Array;

/** Bytes one position takes in the cache: keys and values of every layer. */
export function kvBytesPerToken(llm: { numLayers: number; numKvHeads: number; headDim: number }, dtype: KVDtype): number {
  return 2 * llm.numLayers * llm.numKvHeads * llm.headDim * (dtype === 'float16' ? 2 : 4);
}

const GROWTH = 256;

/**
 * What decoding needs of a KV cache: the past as the decoder takes it, appending each call's new
 * keys/values, and cutting back. KVCache keeps it in JS buffers; a device-resident cache (WebGPU
 * buffers that stay on the GPU) implements the same interface.
 */
export interface KVStore {
  /** Number of cached positions. */
  readonly length: number;
  /** Hard limit on positions (the model's context). */
  readonly maxLength: number;
  past(): PastKV;
  append(presentKeys: KVArray[], presentValues: KVArray[]): void;
  truncate(length: number): void;
  /** Compact copies of one layer's cached keys and values, [KVH, length, headDim] each (inspection, tests). */
  layer(i: number): { keys: KVArray; values: KVArray };
}

/** A cache buffer of `n` elements of `dtype` (float16 as its raw bits, as ONNX Runtime takes them). */
export function kvBuffer(dtype: KVDtype, n: number): KVArray {
  return dtype === 'float16' ? new Uint16Array(n) : new Float32Array(n);
}

/** Fails unless every buffer holds `dtype` elements (a typed-array `set` would silently convert). */
export function checkKVDtype(what: string, dtype: KVDtype, bufs: readonly KVArray[]): void {
  const want = dtype === 'float16' ? Uint16Array : Float32Array;
  for (const b of bufs) {
    if (!(b instanceof want)) fail(`${what}: expected ${dtype} keys/values, got ${b.constructor.name} (create the cache with the model's kvDtype)`);
  }
}

export class KVCache implements KVStore {
  /** Per layer: [KVH, capacity, headDim] at the start of a buffer of KVH · backingRows · headDim. */
  private keys: KVArray[];
  private values: KVArray[];
  private capacity: number;
  private backingRows: number;
  /** Number of cached positions. */
  length = 0;

  constructor(
    readonly numLayers: number,
    readonly numKvHeads: number,
    readonly headDim: number,
    /** Hard limit on positions (the model's context). */
    readonly maxLength: number,
    /** Rows the decoder sees at first (default GROWTH). */
    initialCapacity = GROWTH,
    /** Element type (the model's `kvDtype`: what its decoder takes and returns). */
    readonly dtype: KVDtype = 'float32',
    /** Rows to allocate up front (default: the initial capacity); capacity grows inside them without copies. */
    reserveRows = initialCapacity,
  ) {
    this.capacity = Math.min(Math.max(1, initialCapacity), maxLength);
    this.backingRows = Math.min(Math.max(this.capacity, reserveRows), maxLength);
    const n = numKvHeads * this.backingRows * headDim;
    this.keys = Array.from({ length: numLayers }, () => kvBuffer(dtype, n));
    this.values = Array.from({ length: numLayers }, () => kvBuffer(dtype, n));
  }

  /** The cache buffers themselves (zero-copy), in the decoder's past layout. */
  past(): PastKV {
    const n = this.numKvHeads * this.capacity * this.headDim;
    const view = (b: KVArray) => (b.length === n ? b : b.subarray(0, n));
    return { length: this.length, capacity: this.capacity, keys: this.keys.map(view), values: this.values.map(view) };
  }

  /** Appends one call's new keys/values (per layer [KVH, S, headDim]). */
  append(presentKeys: KVArray[], presentValues: KVArray[]): void {
    if (presentKeys.length !== this.numLayers || presentValues.length !== this.numLayers) {
      fail(`KV cache: expected ${this.numLayers} layers of new keys/values, got ${presentKeys.length}/${presentValues.length}`);
    }
    checkKVDtype('KV cache', this.dtype, presentKeys);
    checkKVDtype('KV cache', this.dtype, presentValues);
    const d = this.headDim;
    const S = presentKeys[0]!.length / (this.numKvHeads * d);
    const need = this.length + S;
    if (need > this.maxLength) fail(`KV cache: ${need} positions exceed the maximum of ${this.maxLength}`);
    if (need > this.capacity) this.grow(need);
    const chunk = S * d;
    for (let i = 0; i < this.numLayers; i++) {
      for (let h = 0; h < this.numKvHeads; h++) {
        const at = (h * this.capacity + this.length) * d;
        setRows(this.keys[i]!, presentKeys[i]!.subarray(h * chunk, (h + 1) * chunk), at);
        setRows(this.values[i]!, presentValues[i]!.subarray(h * chunk, (h + 1) * chunk), at);
      }
    }
    this.length = need;
  }

  /** Compact copies of one layer's cached keys and values, [KVH, length, headDim] each. */
  layer(i: number): { keys: KVArray; values: KVArray } {
    return { keys: this.withCapacity(this.keys[i]!, this.length), values: this.withCapacity(this.values[i]!, this.length) };
  }

  /** Forgets positions from `length` on (e.g. to start a new turn from a shared prefix). */
  truncate(length: number): void {
    if (length < 0 || length > this.length) fail(`KV cache: cannot truncate ${this.length} positions to ${length}`);
    this.length = length;
    // The capacity the decoder sees shrinks with it (attention reads every capacity row).
    const cap = Math.min(Math.max(GROWTH, Math.ceil(length / GROWTH) * GROWTH), this.maxLength);
    if (cap < this.capacity) this.moveHeads(cap);
  }

  private grow(need: number): void {
    const cap = Math.min(Math.ceil(need / GROWTH) * GROWTH, this.maxLength);
    if (cap <= this.backingRows) {
      this.moveHeads(cap);
      return;
    }
    this.keys = this.keys.map((b) => this.withCapacity(b, cap));
    this.values = this.values.map((b) => this.withCapacity(b, cap));
    this.backingRows = cap;
    this.capacity = cap;
  }

  /**
   * Re-lays the cached rows out for capacity `cap` inside the backing buffers: head h moves from
   * h·C·d to h·cap·d. Growing, the destinations lie above the sources, so the last head moves first;
   * shrinking, below them, so the first one does (copyWithin handles a head's own overlap).
   */
  private moveHeads(cap: number): void {
    const d = this.headDim;
    const H = this.numKvHeads;
    const order = cap > this.capacity ? Array.from({ length: H - 1 }, (_, i) => H - 1 - i) : Array.from({ length: H - 1 }, (_, i) => i + 1);
    for (const b of [...this.keys, ...this.values]) {
      for (const h of order) b.copyWithin(h * cap * d, h * this.capacity * d, (h * this.capacity + this.length) * d);
    }
    this.capacity = cap;
  }

  /** A new [KVH, cap, headDim] buffer holding the `length` cached rows of each head of `buf`. */
  private withCapacity(buf: KVArray, cap: number): KVArray {
    const d = this.headDim;
    const out = kvBuffer(this.dtype, this.numKvHeads * cap * d);
    for (let h = 0; h < this.numKvHeads; h++) {
      setRows(out, buf.subarray(h * this.capacity * d, (h * this.capacity + this.length) * d), h * cap * d);
    }
    return out;
  }
}

/** dst.set(src, at) for two buffers of one element type (checked by the callers). */
export function setRows(dst: KVArray, src: KVArray, at: number): void {
  (dst as Float32Array).set(src as Float32Array, at);
}
