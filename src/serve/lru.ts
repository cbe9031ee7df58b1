/**
 * A size-bounded LRU map (Map insertion order = recency). Hand-written: the caches hold typed arrays
 * whose cost is their byte length, and a dozen lines keep that exact without another dependency.
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, { value: V; size: number }>();
  private used = 0;

  constructor(
    /** Budget in the units of `sizeOf` (bytes here); 0 disables the cache. */
    readonly maxSize: number,
    private readonly sizeOf: (v: V) => number,
  ) {}

  get size(): number {
    return this.used;
  }

  get count(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  set(key: K, value: V): void {
    const size = this.sizeOf(value);
    this.delete(key);
    if (size > this.maxSize) return; // larger than the whole budget: never cached
    this.map.set(key, { value, size });
    this.used += size;
    for (const [k, e] of this.map) {
      if (this.used <= this.maxSize) break;
      this.map.delete(k);
      this.used -= e.size;
    }
  }

  delete(key: K): void {
    const e = this.map.get(key);
    if (!e) return;
    this.map.delete(key);
    this.used -= e.size;
  }

  /** A snapshot of the entries, least recently used first. */
  entries(): [K, V][] {
    return [...this.map].map(([k, e]) => [k, e.value]);
  }
}
