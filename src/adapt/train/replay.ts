/**
 * The forgetting guard of `minivl finetune --replay META` (issue #11): general data from a second meta
 * file mixed into the training stream. Slot j of the mixed stream is a replay sample when a draw from
 * (seed, j) falls under the ratio, so which slots replay is a pure function of (seed, j); the read
 * positions reached in the two sources are kept in `MixState`, saved in every checkpoint, which makes
 * a resumed run read exactly the samples an uninterrupted one does.
 */
import type { RecordSample } from '../sample/record-sample.ts';
import { fail } from '../../errors.ts';
import { generator, STREAM } from './rng.ts';

/** Share of replay samples when --replay is given without --replay-ratio (one in five). */
export const DEFAULT_REPLAY_RATIO = 0.2;

/** A deterministic sample stream (TrainData): position i → the sample there, and how many positions it used. */
export interface SampleSource {
  sample(i: number): Promise<{ sample: RecordSample; consumed: number }>;
}

/** Where a sample of the mixed stream was read: enough to read it again on resume. */
export interface Origin {
  replay: boolean;
  position: number;
}

export interface StreamSample extends RecordSample {
  origin: Origin;
}

export interface MixState {
  /** Next slot of the mixed stream. */
  slot: number;
  /** Next read position in the training data and in the replay data. */
  main: number;
  replay: number;
}

export function isReplaySlot(seed: number, slot: number, ratio: number): boolean {
  return ratio > 0 && generator(seed, STREAM.replay, slot)() < ratio;
}

export class MixedStream {
  private readonly at: MixState;

  /** Without a replay source (or ratio 0) this is the training data alone, in its order. */
  constructor(
    private readonly main: SampleSource,
    private readonly replaySource: SampleSource | null,
    private readonly ratio: number,
    private readonly seed: number,
    state: MixState = { slot: 0, main: 0, replay: 0 },
  ) {
    if (!(ratio >= 0 && ratio < 1)) fail(`the replay ratio must be in [0, 1), got ${ratio}`);
    this.at = { ...state };
  }

  get state(): MixState {
    return { ...this.at };
  }

  async next(): Promise<StreamSample> {
    const replay = this.replaySource !== null && isReplaySlot(this.seed, this.at.slot, this.ratio);
    const position = replay ? this.at.replay : this.at.main;
    const { sample, consumed } = await (replay ? this.replaySource! : this.main).sample(position);
    this.at.slot++;
    if (replay) this.at.replay += consumed;
    else this.at.main += consumed;
    return { ...sample, origin: { replay, position } };
  }

  /** The sample read at `origin` again (a resumed packer's held samples). */
  async load(origin: Origin): Promise<StreamSample> {
    const src = origin.replay ? this.replaySource ?? fail('the saved run read replay data, but no --replay source is open') : this.main;
    return { ...(await src.sample(origin.position)).sample, origin };
  }
}
