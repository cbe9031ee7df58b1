/**
 * What one optimizer step trains on. Three shapes of the data stream:
 *   - plain: one record per micro-batch, token-mean loss (the non-packed 2nd fine-tune) — the
 *     MixedStream without a replay source, whose state is then the read position alone;
 *   - mixed (--replay without packing): the same with replay slots, its MixState saved;
 *   - packed (--batch-tokens): one pack per micro-batch. The gradAccum micro-batches of a step play
 *     the data-parallel ranks of the reference's `loss_reduction_all_gather` (all domain scripts):
 *     every pack is divided by the step's total D, so the step's loss is Σ CE·w / Σ w over all of
 *     its packs and the micro-batch losses and gradients are summed (divisor 1), not averaged.
 */
import type { TrainingBatch } from '../../runtime/training.ts';
import type { TrainData } from './data.ts';
import { MixedStream, type MixState } from './replay.ts';
import { PackedStream, type PackedStreamState, type PackingOptions } from './packed-data.ts';

export interface MicroBatch extends Omit<TrainingBatch, 'imgContextId' | 'masks'> {
  inputIds: number[];
  labels: number[];
  numTiles: number;
  samples: number;
  replaySamples: number;
}

export interface StepBatches {
  micro: MicroBatch[];
  /** Each micro-batch's loss and gradients are divided by this before they are summed. */
  divisor: number;
}

/** Saved in each checkpoint (besides the plain read position). */
export type StreamState = { kind: 'mixed'; mix: MixState } | { kind: 'packed'; packed: PackedStreamState };

export interface TrainStream {
  next(gradAccum: number): Promise<StepBatches>;
  /** For the plain stream: the next read position; else the saved state. */
  position(): number;
  state(): StreamState | undefined;
}

export interface StreamOptions {
  data: TrainData;
  replay: { data: TrainData; ratio: number } | null;
  packing: PackingOptions | null;
  seed: number;
  /** Where a resumed run continues. */
  position: number;
  saved?: StreamState;
}

export async function openTrainStream(o: StreamOptions): Promise<TrainStream> {
  const savedMix = o.saved?.kind === 'packed' ? o.saved.packed.mix : o.saved?.mix;
  const mixed = new MixedStream(o.data, o.replay?.data ?? null, o.replay?.ratio ?? 0, o.seed, savedMix ?? { slot: 0, main: o.position, replay: 0 });
  if (!o.packing) {
    return {
      async next(gradAccum) {
        const micro: MicroBatch[] = [];
        for (let k = 0; k < gradAccum; k++) {
          const s = await mixed.next();
          micro.push({ ...s, samples: 1, replaySamples: s.origin.replay ? 1 : 0 });
        }
        return { micro, divisor: gradAccum };
      },
      position: () => mixed.state.main,
      state: () => (o.replay ? { kind: 'mixed', mix: mixed.state } : undefined),
    };
  }
  const packed = await PackedStream.open(mixed, o.packing, o.saved?.kind === 'packed' ? o.saved.packed : undefined);
  return {
    async next(gradAccum) {
      const micro: MicroBatch[] = [];
      for (let k = 0; k < gradAccum; k++) micro.push(await packed.next());
      const D = micro.reduce((n, b) => n + b.denominator!, 0);
      for (const b of micro) b.denominator = D;
      return { micro, divisor: 1 };
    },
    position: () => mixed.state.main,
    state: () => ({ kind: 'packed', packed: packed.state() }),
  };
}
