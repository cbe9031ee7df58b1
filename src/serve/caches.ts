/**
 * The two caches that make a conversation's next turn cheap:
 *   VisionCache  image bytes hash + tile settings → the image's tile count and vision embeddings, so
 *                an image sent again (every turn of a chat repeats its images) is not re-encoded;
 *   PrefixCache  a finished sequence's keys/values with the ids they belong to, so a request that
 *                repeats an earlier conversation (turn two = turn one's prompt + answer + more) prefills
 *                only what is new.
 * Both are LRU and bounded in bytes.
 */
import { createHash } from 'node:crypto';
import type { KVRows } from '../runtime/batch-cache.ts';
import { LruCache } from './lru.ts';

export interface ImageGeometry {
  width: number;
  height: number;
  numTiles: number;
}

export interface VisionEntry extends ImageGeometry {
  /** [numTiles, numImageToken, H] projector output. */
  vitEmbeds: Float32Array;
}

/** The key of an image under tile settings: equal keys ⇒ equal tiles ⇒ equal embeddings. */
export function imageKey(bytes: Uint8Array, maxNum: number, imageSize: number, useThumbnail: boolean): string {
  return `${createHash('sha256').update(bytes).digest('hex')}:${maxNum}:${imageSize}:${useThumbnail ? 1 : 0}`;
}

export class VisionCache {
  private readonly lru: LruCache<string, VisionEntry>;

  constructor(maxBytes: number) {
    this.lru = new LruCache(maxBytes, (e) => e.vitEmbeds.byteLength);
  }

  get bytes(): number {
    return this.lru.size;
  }

  get(key: string): VisionEntry | undefined {
    return this.lru.get(key);
  }

  set(key: string, entry: VisionEntry): void {
    this.lru.set(key, entry);
  }
}

/** Where an image's `<IMG_CONTEXT>` run lies in a sequence: positions [start, end), and its key. */
export interface ImageSpan {
  start: number;
  end: number;
  key: string;
}

interface PrefixEntry {
  /** The ids of the cached rows (prompt + generated tokens that were fed back). */
  ids: number[];
  spans: ImageSpan[];
  rows: KVRows;
}

export class PrefixCache {
  private readonly lru: LruCache<number, PrefixEntry>;
  private nextId = 0;

  constructor(maxBytes: number) {
    this.lru = new LruCache(maxBytes, (e) => e.rows.keys.reduce((a, b) => a + b.byteLength, 0) * 2);
  }

  get bytes(): number {
    return this.lru.size;
  }

  /**
   * The longest reusable prefix of `ids`: equal ids, and every image inside it the same image (equal
   * keys at the same span). It ends at an image boundary and leaves at least one id to prefill.
   */
  lookup(ids: readonly number[], spans: readonly ImageSpan[]): { rows: KVRows; length: number } | null {
    let best: { rows: KVRows; length: number } | null = null;
    for (const [, e] of this.lru.entries()) {
      let L = 0;
      const n = Math.min(e.ids.length, ids.length - 1);
      while (L < n && e.ids[L] === ids[L]) L++;
      for (const s of spans) {
        if (s.start >= L) break;
        const same = e.spans.find((x) => x.start === s.start);
        if (!same || same.key !== s.key || same.end !== s.end || s.end > L) L = s.start;
      }
      if (L > 0 && (!best || L > best.length)) best = { rows: e.rows, length: L };
    }
    return best;
  }

  /** Stores a finished sequence; entries it extends (an earlier turn of the same conversation) are dropped. */
  store(ids: number[], spans: ImageSpan[], rows: KVRows): void {
    if (rows.length !== ids.length || ids.length === 0) return;
    for (const [k, e] of this.lru.entries()) {
      if (e.ids.length <= ids.length && e.ids.every((x, i) => x === ids[i])) this.lru.delete(k);
    }
    this.lru.set(this.nextId++, { ids, spans, rows });
  }
}
