/**
 * Packed training data (training.md §5.2, §7.2): the samples of the (mixed) stream go through the
 * §5.2 packer; each emitted pack becomes one sequence whose samples attend only to themselves
 * (`cuSeqlens`), positions restarting at 0 per sample, tiles of all samples concatenated in order,
 * and per-token loss weights of the chosen reduction.
 *
 * Resume: the packer holds samples between steps, so its state — the origin of every held sample and
 * of every emitted pack not yet trained on, plus the mixed stream's read positions — is saved in each
 * checkpoint (`PackedStreamState`) and the held samples are read again on resume (sample reads are a
 * pure function of the position). A resumed run therefore sees exactly the packs an uninterrupted one does.
 */
import { Packer, type Pack } from '../sample/pack.ts';
import { packLossWeights, type LossReduction } from './loss-weights.ts';
import { fail } from '../../errors.ts';
import { concatFloat32 } from '../../io/dtype.ts';
import type { MixedStream, MixState, Origin, StreamSample } from './replay.ts';

/** Unpackable samples in a row after which the limits are taken to be wrong rather than the data (else an endless loop). */
const MAX_DROPS_IN_A_ROW = 100;

export interface PackingOptions {
  /** `max_packed_tokens` (scripts 16384). */
  maxTokens: number;
  /** `num_images_expected` (scripts 48). */
  maxTiles: number;
  /** `max_buffer_size` (20). */
  maxBuffers: number;
  lossReduction: LossReduction;
  warn?: (msg: string) => void;
}

/** One pack as the training session takes it. */
export interface PackedBatch {
  inputIds: number[];
  labels: number[];
  /** [0, len₁, len₁+len₂, …, L]. */
  cuSeqlens: number[];
  pixelValues: Float32Array;
  imageFlags: number[];
  numTiles: number;
  /** Unshifted per-token weights (§7.2). */
  lossWeights: Float32Array;
  /** This pack's own D = Σ_t w_{t+1} (a sample's first token is no target). */
  denominator: number;
  samples: number;
  replaySamples: number;
}

export interface PackedStreamState {
  mix: MixState;
  /** Origins of the samples in each buffer the packer holds, in its order. */
  held: Origin[][];
  /** Packs already emitted but not yet trained on. */
  ready: Origin[][];
  dropped: number;
}

/** D = Σ_t w_{t+1} over the shifted positions that stay inside their sample. */
export function packDenominator(weights: ArrayLike<number>, cuSeqlens: readonly number[]): number {
  let d = 0;
  for (let t = 1; t < weights.length; t++) d += weights[t]!;
  for (let s = 1; s + 1 < cuSeqlens.length; s++) d -= weights[cuSeqlens[s]!]!;
  return d;
}

export function packedBatch(samples: readonly StreamSample[], mode: LossReduction): PackedBatch {
  const inputIds: number[] = [];
  const labels: number[] = [];
  const imageFlags: number[] = [];
  const cuSeqlens = [0];
  const tiles: Float32Array[] = [];
  for (const s of samples) {
    inputIds.push(...s.inputIds);
    labels.push(...s.labels);
    imageFlags.push(...s.imageFlags);
    cuSeqlens.push(inputIds.length);
    if (s.pixelValues) tiles.push(s.pixelValues);
  }
  const pixelValues = concatFloat32(tiles);
  const lossWeights = packLossWeights(labels, cuSeqlens, mode);
  return {
    inputIds, labels, cuSeqlens, pixelValues, imageFlags, numTiles: imageFlags.length, lossWeights,
    denominator: packDenominator(lossWeights, cuSeqlens), samples: samples.length, replaySamples: samples.filter((s) => s.origin.replay).length,
  };
}

export class PackedStream {
  private readonly packer: Packer<StreamSample>;
  private ready: StreamSample[][] = [];

  private constructor(private readonly mixed: MixedStream, private readonly opts: PackingOptions) {
    this.packer = new Packer<StreamSample>({
      maxTokens: opts.maxTokens, maxTiles: opts.maxTiles, maxBuffers: opts.maxBuffers,
      onDrop: (s, why) => {
        const { origin } = s as StreamSample;
        opts.warn?.(`${origin.replay ? 'replay' : 'training'} data position ${origin.position}: skipped: ${why}`);
      },
    });
  }

  /** A stream over `mixed` (whose state must be the saved `mix`), with the packer state put back when resuming. */
  static async open(mixed: MixedStream, opts: PackingOptions, saved?: PackedStreamState): Promise<PackedStream> {
    const ps = new PackedStream(mixed, opts);
    if (saved) {
      const load = (group: Origin[]) => Promise.all(group.map((o) => mixed.load(o)));
      ps.packer.restore(await Promise.all(saved.held.map(load)));
      ps.ready = await Promise.all(saved.ready.map(load));
      ps.packer.dropped = saved.dropped;
    }
    return ps;
  }

  /** The next pack. The stream is endless (the data repeats epoch after epoch), so the packer is never flushed. */
  async next(): Promise<PackedBatch> {
    let dropsInARow = 0;
    while (this.ready.length === 0) {
      const before = this.packer.dropped;
      const packs: Pack<StreamSample>[] = this.packer.push(await this.mixed.next());
      this.ready.push(...packs.map((p) => p.samples));
      dropsInARow = this.packer.dropped > before ? dropsInARow + 1 : 0;
      if (dropsInARow >= MAX_DROPS_IN_A_ROW) {
        fail(`${MAX_DROPS_IN_A_ROW} samples in a row exceed a pack (${this.opts.maxTokens} tokens, ${this.opts.maxTiles} tiles): raise --batch-tokens / --batch-tiles or lower --max-length / --max-num`);
      }
    }
    const batch = packedBatch(this.ready.shift()!, this.opts.lossReduction);
    if (batch.denominator > 0) return batch;
    // No supervised token in the whole pack (the reference would divide by zero, training.md §13.4).
    this.opts.warn?.(`a pack of ${batch.samples} sample(s) has no supervised token: skipped`);
    return this.next();
  }

  state(): PackedStreamState {
    const origins = (group: readonly StreamSample[]) => group.map((s) => s.origin);
    return { mix: this.mixed.state, held: this.packer.held().map(origins), ready: this.ready.map(origins), dropped: this.packer.dropped };
  }
}
