/**
 * Packing of samples into fixed token / tile budgets as the domain-adaptation scripts do
 * (`PackedDataset`, training.md §5.2; settings 16384 tokens, 48 tiles, 20 buffers, strict_mode off,
 * overflow off), and the mixture sampler that picks the dataset of the next sample.
 *
 * Buffers are kept sorted by tile count, descending. A sample is merged into the first buffer it fits
 * (tiles ≤ maxTiles and tokens ≤ maxTokens), else it starts a new one; a buffer that reaches maxTokens
 * or exactly maxTiles is emitted at once, and while more than maxBuffers are held the one with the
 * most tiles is emitted. A sample with more than maxTiles tiles cannot be packed: it is dropped and
 * reported through `onDrop` (the reference logs an error), never silently.
 */

/** What the packer needs of a sample; anything else the caller keeps in it rides along in `samples`. */
export interface PackableSample {
  inputIds: number[];
  labels: number[];
  numTiles: number;
}

export interface PackerOptions {
  /** `max_packed_tokens` (scripts: 16384). */
  maxTokens?: number;
  /** `num_images_expected` (scripts: 48). */
  maxTiles?: number;
  /** `max_buffer_size` (20). */
  maxBuffers?: number;
  /** Called for a sample that can never be packed (more tiles than maxTiles, or more tokens than maxTokens). */
  onDrop?: (sample: PackableSample, reason: string) => void;
}

export interface Pack<S extends PackableSample> {
  samples: S[];
  inputIds: number[];
  labels: number[];
  /** Restart at 0 for every sample (no attention across samples). */
  positionIds: number[];
  /** Sample index inside the pack for every token (the reference's `data_index`). */
  dataIndex: number[];
  /** [0, len1, len1+len2, ...]: the boundaries varlen attention uses. */
  cuSeqlens: number[];
  numTiles: number;
}

interface Buffer<S extends PackableSample> {
  samples: S[];
  tokens: number;
  tiles: number;
}

export class Packer<S extends PackableSample> {
  private readonly maxTokens: number;
  private readonly maxTiles: number;
  private readonly maxBuffers: number;
  private buffers: Buffer<S>[] = [];
  /** Number of samples dropped because they can never fit. */
  dropped = 0;

  constructor(private readonly opts: PackerOptions = {}) {
    this.maxTokens = opts.maxTokens ?? 16384;
    this.maxTiles = opts.maxTiles ?? 48;
    this.maxBuffers = opts.maxBuffers ?? 20;
  }

  /** Adds one sample; returns the packs that became ready (usually none). */
  push(sample: S): Pack<S>[] {
    const tokens = sample.inputIds.length;
    if (sample.numTiles > this.maxTiles || tokens > this.maxTokens) {
      this.dropped++;
      const why = sample.numTiles > this.maxTiles ? `${sample.numTiles} tiles > ${this.maxTiles}` : `${tokens} tokens > ${this.maxTokens}`;
      this.opts.onDrop?.(sample, `sample cannot be packed: ${why}`);
      return [];
    }
    // find_buffer: the first buffer (most tiles first) the sample fits into.
    const at = this.buffers.findIndex((b) => b.tiles + sample.numTiles <= this.maxTiles && b.tokens + tokens <= this.maxTokens);
    const merged = at >= 0 ? this.buffers.splice(at, 1)[0]! : { samples: [], tokens: 0, tiles: 0 };
    merged.samples.push(sample);
    merged.tokens += tokens;
    merged.tiles += sample.numTiles;

    const ready: Pack<S>[] = [];
    if (merged.tokens >= this.maxTokens) ready.push(toPack(merged));
    else {
      // Insert before the first buffer with fewer tiles (keeps the list sorted, stable for ties).
      let i = this.buffers.findIndex((b) => b.tiles < merged.tiles);
      if (i < 0) i = this.buffers.length;
      this.buffers.splice(i, 0, merged);
    }
    while (this.buffers.length > 0 && this.buffers[0]!.tiles === this.maxTiles) ready.push(toPack(this.buffers.shift()!));
    while (this.buffers.length > this.maxBuffers) ready.push(toPack(this.buffers.shift()!));
    return ready;
  }

  /** The samples of every held buffer, in the packer's order (to save a run's packing state). */
  held(): S[][] {
    return this.buffers.map((b) => [...b.samples]);
  }

  /** Puts back the buffers `held()` returned (resuming a run); replaces any held now. */
  restore(held: readonly (readonly S[])[]): void {
    this.buffers = held.map((samples) => ({
      samples: [...samples],
      tokens: samples.reduce((n, s) => n + s.inputIds.length, 0),
      tiles: samples.reduce((n, s) => n + s.numTiles, 0),
    }));
  }

  /** The packs still held, most tiles first (when every dataset is exhausted). */
  flush(): Pack<S>[] {
    const rest = this.buffers.map(toPack);
    this.buffers = [];
    return rest;
  }
}

function toPack<S extends PackableSample>(b: Buffer<S>): Pack<S> {
  const inputIds: number[] = [];
  const labels: number[] = [];
  const positionIds: number[] = [];
  const dataIndex: number[] = [];
  const cuSeqlens = [0];
  b.samples.forEach((s, k) => {
    for (let t = 0; t < s.inputIds.length; t++) {
      inputIds.push(s.inputIds[t]!);
      labels.push(s.labels[t]!);
      positionIds.push(t);
      dataIndex.push(k);
    }
    cuSeqlens.push(inputIds.length);
  });
  return { samples: b.samples, inputIds, labels, positionIds, dataIndex, cuSeqlens, numTiles: b.tiles };
}

/**
 * Picks datasets like a packing worker: each draw chooses dataset i with probability proportional to its
 * remaining weight (its effective line count); `exhaust(i)` removes a dataset that ran out. The PRNG is
 * a seeded mulberry32, so a run is reproducible (it does not reproduce numpy's stream).
 */
export function mixtureSampler(weights: readonly number[], seed = 0): { next(): number | undefined; exhaust(i: number): void } {
  const w = [...weights];
  let state = seed >>> 0;
  const rand = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next() {
      const total = w.reduce((a, b) => a + b, 0);
      if (total <= 0) return undefined;
      let x = rand() * total;
      for (let i = 0; i < w.length; i++) {
        if (w[i]! <= 0) continue;
        if (x < w[i]!) return i;
        x -= w[i]!;
      }
      return w.findLastIndex((v) => v > 0);
    },
    exhaust(i: number) {
      w[i] = 0;
    },
  };
}
