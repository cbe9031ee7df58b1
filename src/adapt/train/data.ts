/**
 * The training data of a run: every line of every dataset of the meta file (after repeat_time), read
 * in a seeded per-epoch permutation, each built into a sample by the adapt sample builder. Position
 * i of the run's sample stream is a pure function of (seed, i), which is what resume relies on.
 */
import { readMeta, datasetLines, type DatasetLine, type DatasetSpec } from '../format/meta.ts';
import { parseRecordLine } from '../format/validate.ts';
import { loadRecordSample, type RecordSample } from '../sample/record-sample.ts';
import type { Tokenizer } from '../../tokenizer/index.ts';
import { fail, MinivlError } from '../../errors.ts';
import { permutation } from './rng.ts';

export interface DataOptions {
  tokenizer: Tokenizer;
  template: string;
  maxLength: number;
  /** Run-wide max tiles per image; a dataset's `max_dynamic_patch` overrides it. */
  maxDynamicPatch: number;
  seed: number;
  /** Called when a record cannot be built (it is skipped, like the reference's retry). */
  warn?: (msg: string) => void;
}

export class TrainData {
  private readonly lines: { line: DatasetLine; ds: DatasetSpec }[] = [];
  private perm: { epoch: number; order: Uint32Array } | null = null;

  constructor(metaFile: string, private readonly opts: DataOptions) {
    const meta = readMeta(metaFile);
    for (const ds of meta.datasets) for (const line of datasetLines(ds)) this.lines.push({ line, ds });
    if (this.lines.length === 0) fail(`${metaFile}: the datasets hold no lines`);
  }

  get size(): number {
    return this.lines.length;
  }

  private at(i: number): { line: DatasetLine; ds: DatasetSpec } {
    const epoch = Math.floor(i / this.lines.length);
    if (this.perm?.epoch !== epoch) this.perm = { epoch, order: permutation(this.lines.length, this.opts.seed, epoch) };
    return this.lines[this.perm.order[i % this.lines.length]!]!;
  }

  /**
   * The sample at stream position i; a record that fails to build is reported and the next
   * position is tried (up to 10 more, as the reference retries), which keeps the stream deterministic.
   */
  async sample(i: number): Promise<{ sample: RecordSample; consumed: number }> {
    for (let k = 0; k <= 10; k++) {
      const { line, ds } = this.at(i + k);
      try {
        const rec = parseRecordLine(line);
        const sample = await loadRecordSample(rec, {
          tokenizer: this.opts.tokenizer, template: this.opts.template, root: ds.rootPath,
          maxDynamicPatch: ds.maxDynamicPatch ?? this.opts.maxDynamicPatch, maxLength: this.opts.maxLength, pixels: true,
        });
        return { sample, consumed: k + 1 };
      } catch (e) {
        if (!(e instanceof MinivlError)) throw e;
        this.opts.warn?.(`${line.file}:${line.lineNo}: skipped: ${e.message}`);
      }
    }
    fail(`11 records in a row could not be built (from stream position ${i}); check the data with minivl adapt check`);
  }
}
