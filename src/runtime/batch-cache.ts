/**
 * The KV cache of continuous batching: per layer one [slots, KVH, capacity, headDim] buffer, a slot per
 * running sequence. A slot's region is laid out exactly like a KVCache buffer ([KVH, capacity, headDim]),
 * so a sequence's prefill runs through the batch-1 forward straight into its slot, and a batched decode
 * step feeds the first B slots as one [B, KVH, capacity, headDim] zero-copy view (Model.forwardBatch).
 * Capacity grows for all slots at once in steps of GROWTH rows (attention reads every capacity row, see
 * kv-cache.ts); free slots inside the fed range only cost their masked rows.
 */
import { fail } from '../errors.ts';
import type { PastKV } from './model.ts';
import { checkKVDtype, kvBuffer, setRows, type KVArray, type KVDtype } from './kv-cache.ts';

const GROWTH = 256;

/** One sequence's cached rows, compact: per layer [KVH, length, headDim] keys and values. */
export interface KVRows {
  length: number;
  keys: KVArray[];
  values: KVArray[];
}

export class BatchKVCache {
  private keys: KVArray[];
  private values: KVArray[];
  private cap: number;
  /** Cached rows per slot. */
  readonly lengths: Int32Array;

  constructor(
    readonly numLayers: number,
    readonly numKvHeads: number,
    readonly headDim: number,
    readonly slots: number,
    /** Hard limit on rows per slot (the model's context). */
    readonly maxLength: number,
    /** Element type (the model's `kvDtype`). */
    readonly dtype: KVDtype = 'float32',
  ) {
    if (!Number.isInteger(slots) || slots < 1) fail(`batch KV cache: slots must be an integer ≥ 1, got ${slots}`);
    this.cap = Math.min(GROWTH, maxLength);
    this.lengths = new Int32Array(slots);
    this.keys = this.alloc(this.cap);
    this.values = this.alloc(this.cap);
  }

  get capacity(): number {
    return this.cap;
  }

  /** Bytes held by the buffers. */
  get bytes(): number {
    return 2 * this.numLayers * this.keys[0]!.byteLength;
  }

  /** Makes room for `rows` rows in every slot (reallocates and copies the cached rows when growing). */
  reserve(rows: number): void {
    if (rows > this.maxLength) fail(`batch KV cache: ${rows} positions exceed the maximum of ${this.maxLength}`);
    if (rows <= this.cap) return;
    const cap = Math.min(Math.ceil(rows / GROWTH) * GROWTH, this.maxLength);
    const move = (old: KVArray[]) => {
      const next = this.alloc(cap);
      for (let i = 0; i < this.numLayers; i++) {
        for (let s = 0; s < this.slots; s++) {
          for (let h = 0; h < this.numKvHeads; h++) {
            const from = this.offset(s, h, 0, this.cap);
            setRows(next[i]!, old[i]!.subarray(from, from + this.lengths[s]! * this.headDim), this.offset(s, h, 0, cap));
          }
        }
      }
      return next;
    };
    this.keys = move(this.keys);
    this.values = move(this.values);
    this.cap = cap;
  }

  /** Slot `s` as a batch-1 past (zero-copy views of its region). */
  slotPast(s: number): PastKV {
    const n = this.numKvHeads * this.cap * this.headDim;
    return {
      length: this.lengths[s]!,
      capacity: this.cap,
      keys: this.keys.map((b) => b.subarray(s * n, (s + 1) * n)),
      values: this.values.map((b) => b.subarray(s * n, (s + 1) * n)),
    };
  }

  /** The whole buffers, for a batched call over slots 0..B−1. */
  batchPast(): { capacity: number; keys: KVArray[]; values: KVArray[] } {
    return { capacity: this.cap, keys: this.keys, values: this.values };
  }

  /** Appends a batch-1 call's new rows (per layer [KVH, S, headDim]) to slot `s`. */
  appendSlot(s: number, presentKeys: KVArray[], presentValues: KVArray[]): void {
    const S = presentKeys[0]!.length / (this.numKvHeads * this.headDim);
    this.reserve(this.lengths[s]! + S);
    this.write(s, presentKeys, presentValues, 0, S, S);
    this.lengths[s]! += S;
  }

  /** Appends a batched step's new rows (per layer [B, KVH, 1, headDim]) to the slots in `active` (each < B). */
  appendBatch(active: readonly number[], presentKeys: KVArray[], presentValues: KVArray[]): void {
    let need = 0;
    for (const s of active) need = Math.max(need, this.lengths[s]! + 1);
    this.reserve(need);
    const per = this.numKvHeads * this.headDim;
    for (const s of active) {
      this.write(s, presentKeys, presentValues, s * per, 1, 1);
      this.lengths[s]! += 1;
    }
  }

  /** Puts compact rows (e.g. a reused prefix) into slot `s`, replacing what it held. */
  load(s: number, rows: KVRows, length = rows.length): void {
    checkKVDtype('batch KV cache', this.dtype, [...rows.keys, ...rows.values]);
    this.reserve(length);
    this.lengths[s] = 0;
    const d = this.headDim;
    for (let i = 0; i < this.numLayers; i++) {
      for (let h = 0; h < this.numKvHeads; h++) {
        const from = h * rows.length * d;
        setRows(this.keys[i]!, rows.keys[i]!.subarray(from, from + length * d), this.offset(s, h, 0, this.cap));
        setRows(this.values[i]!, rows.values[i]!.subarray(from, from + length * d), this.offset(s, h, 0, this.cap));
      }
    }
    this.lengths[s] = length;
  }

  /** Compact copy of slot `s`'s cached rows. */
  extract(s: number): KVRows {
    const len = this.lengths[s]!;
    const d = this.headDim;
    const copy = (bufs: KVArray[]) =>
      bufs.map((b) => {
        const out = kvBuffer(this.dtype, this.numKvHeads * len * d);
        for (let h = 0; h < this.numKvHeads; h++) {
          const from = this.offset(s, h, 0, this.cap);
          setRows(out, b.subarray(from, from + len * d), h * len * d);
        }
        return out;
      });
    return { length: len, keys: copy(this.keys), values: copy(this.values) };
  }

  /** Frees slot `s` (its rows are forgotten). */
  clear(s: number): void {
    this.lengths[s] = 0;
  }

  /** Writes S rows per head from `src` (per layer, head stride `srcRows` rows, starting at `base`) after slot s's rows. */
  private write(s: number, ks: KVArray[], vs: KVArray[], base: number, S: number, srcRows: number): void {
    checkKVDtype('batch KV cache', this.dtype, [...ks, ...vs]);
    const d = this.headDim;
    for (let i = 0; i < this.numLayers; i++) {
      for (let h = 0; h < this.numKvHeads; h++) {
        const from = base + h * srcRows * d;
        const at = this.offset(s, h, this.lengths[s]!, this.cap);
        setRows(this.keys[i]!, ks[i]!.subarray(from, from + S * d), at);
        setRows(this.values[i]!, vs[i]!.subarray(from, from + S * d), at);
      }
    }
  }

  private offset(s: number, h: number, row: number, cap: number): number {
    return ((s * this.numKvHeads + h) * cap + row) * this.headDim;
  }

  private alloc(cap: number): KVArray[] {
    const n = this.slots * this.numKvHeads * cap * this.headDim;
    return Array.from({ length: this.numLayers }, () => kvBuffer(this.dtype, n));
  }
}
