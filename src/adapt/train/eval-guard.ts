/**
 * The forgetting guard of `minivl finetune --eval-before-after BENCH`: a small general benchmark scored
 * through the eval library (`evalRun`, the code behind `minivl eval run`) on the source checkpoint
 * before training and on the merged checkpoint after it, and the difference per benchmark.
 *
 * Everything lives in the run folder: OUT/eval/before and OUT/eval/after are ordinary eval stores
 * (one per checkpoint, since a store is bound to one), OUT/eval-before-after.json the summary. A
 * resumed run reuses a finished "before" (scored once, from the untouched source checkpoint); an
 * interrupted one continues from its store item by item, like `eval run` does. A run stopped before its
 * first checkpoint but after the guard began may be resumed too (the trainer restarts it at step 0).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fail, MinivlError } from '../../errors.ts';
import { parseBenchList, type BenchDef } from '../../eval/benchmarks.ts';
import { locateBenchFiles } from '../../eval/datasets/index.ts';
import { evalRun } from '../../eval/run.ts';
import { writeJsonAtomic } from '../../io/atomic-write.ts';

export const EVAL_BEFORE_AFTER = 'eval-before-after.json';

export interface EvalGuardOptions {
  /** Benchmark list as `minivl eval run --bench` takes it (names, `published`, `domain`). */
  bench: string;
  /** The `--data` folder of `minivl eval run` (the reference's file names, docs/eval.md). */
  dataDir: string;
  /** Only the first N items of each benchmark (a small guard, not a full evaluation). */
  limit?: number;
  /** Departures from the reference settings (tiles, new tokens), recorded in the stores. */
  maxNum?: number;
  maxNewTokens?: number;
  threads?: number;
  /** Progress and notes of the eval runs (default: stderr). */
  log?: (line: string) => void;
}

/** The settings that define a guard; a resumed run must use the same. */
interface GuardSettings {
  benches: string[];
  data: string;
  limit: number | null;
  max_num: number | null;
  max_new_tokens: number | null;
  judge: 'none';
}

export interface GuardPhase {
  model: string;
  store: string;
  scored_at: string;
  /** Table score per benchmark (null: not scored, e.g. a protocol that needs a judge). */
  scores: Record<string, number | null>;
  items: Record<string, number>;
}

export interface BeforeAfterReport {
  settings: GuardSettings;
  before: GuardPhase;
  after: GuardPhase | null;
  /** after − before per benchmark (null where either is null). */
  delta: Record<string, number | null> | null;
}

export class EvalGuard {
  private readonly benches: BenchDef[];
  private readonly settings: GuardSettings;
  private readonly file: string;
  private readonly log: (line: string) => void;

  /** Checks the benchmarks and their data files now, so a bad flag fails before training starts. */
  constructor(private readonly outDir: string, private readonly opts: EvalGuardOptions) {
    this.benches = withFlag(() => parseBenchList(opts.bench));
    for (const b of this.benches) {
      if (!b.scored) fail(`--eval-before-after: ${b.name} has no local metric (a test split scored by its server); pick a benchmark with answers`);
      withFlag(() => locateBenchFiles(b, undefined, opts.dataDir));
    }
    this.settings = {
      benches: this.benches.map((b) => b.name), data: resolve(opts.dataDir), limit: opts.limit ?? null,
      max_num: opts.maxNum ?? null, max_new_tokens: opts.maxNewTokens ?? null, judge: 'none',
    };
    this.file = join(outDir, EVAL_BEFORE_AFTER);
    this.log = opts.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  private saved(): BeforeAfterReport | null {
    if (!existsSync(this.file)) return null;
    let r: BeforeAfterReport;
    try {
      r = JSON.parse(readFileSync(this.file, 'utf8')) as BeforeAfterReport;
    } catch (e) {
      fail(`${this.file}: cannot read (${(e as Error).message.split('\n')[0]}); remove it to score "before" again`);
    }
    if (JSON.stringify(r.settings) !== JSON.stringify(this.settings)) {
      fail(`${this.file}: the forgetting guard of this run used other settings (${JSON.stringify(r.settings)}); resume with the same --eval-* flags`);
    }
    return r;
  }

  /** Scores the source checkpoint unless a previous attempt of this run already did. */
  async before(modelDir: string): Promise<{ report: BeforeAfterReport; reused: boolean }> {
    const prev = this.saved();
    if (prev) {
      this.log(`eval before: scored earlier (${this.file}), not repeated`);
      return { report: prev, reused: true };
    }
    const report: BeforeAfterReport = { settings: this.settings, before: await this.score(modelDir, 'before'), after: null, delta: null };
    await writeJsonAtomic(this.file, report);
    this.log(`eval before: ${Object.entries(report.before.scores).map(([b, x]) => `${b} ${x === null ? 'n/a' : x.toFixed(4)}`).join(', ')} (${this.file})`);
    return { report, reused: false };
  }

  /** Scores the adapted (merged) checkpoint and records the difference. */
  async after(mergedDir: string): Promise<BeforeAfterReport> {
    const prev = this.saved() ?? fail(`${this.file}: missing; the "before" scores of this run were never taken`);
    const after = await this.score(mergedDir, 'after');
    const delta = Object.fromEntries(this.settings.benches.map((b) => {
      const x = prev.before.scores[b];
      const y = after.scores[b];
      return [b, x === null || x === undefined || y === null || y === undefined ? null : y - x];
    }));
    const report: BeforeAfterReport = { ...prev, after, delta };
    await writeJsonAtomic(this.file, report);
    return report;
  }

  private async score(modelDir: string, phase: 'before' | 'after'): Promise<GuardPhase> {
    const summary = await evalRun({
      model: modelDir,
      benches: this.benches,
      dataDir: this.opts.dataDir,
      outDir: join(this.outDir, 'eval', phase),
      limit: this.opts.limit,
      overrides: { maxNum: this.opts.maxNum, maxNewTokens: this.opts.maxNewTokens },
      judge: { kind: 'none' },
      threads: this.opts.threads,
      log: (line) => this.log(`eval ${phase}: ${line}`),
    });
    return {
      model: resolve(modelDir),
      store: summary.store,
      scored_at: new Date().toISOString(),
      scores: Object.fromEntries(summary.benches.map((b) => [b.bench, b.score])),
      items: Object.fromEntries(summary.benches.map((b) => [b.bench, b.selected])),
    };
  }
}

/** The eval library's one-line errors, said as this flag's. */
function withFlag<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof MinivlError) fail(`--eval-before-after: ${e.message.replace(/^--bench /, '')}`);
    throw e;
  }
}

/**
 * The guard of a run: null without `--eval-before-after`, and then a resume of a run that had one is
 * refused (its "after" would silently never be scored).
 */
export function openEvalGuard(outDir: string, opts: EvalGuardOptions | undefined, resume: boolean): EvalGuard | null {
  if (opts) return new EvalGuard(outDir, opts);
  if (resume && evalGuardStarted(outDir)) fail(`${outDir}: the run was started with --eval-before-after (see ${EVAL_BEFORE_AFTER}); resume with the same flags`);
  return null;
}

/** Whether a run folder holds the guard's work (its "before" scores or their store): what a resume before the first checkpoint keeps. */
export function evalGuardStarted(outDir: string): boolean {
  return existsSync(join(outDir, EVAL_BEFORE_AFTER)) || existsSync(join(outDir, 'eval', 'before'));
}

/** One line per benchmark: `ai2d: before 0.5000  after 0.6250  delta +0.1250`. */
export function formatBeforeAfter(r: BeforeAfterReport): string[] {
  const f = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : x.toFixed(4));
  return r.settings.benches.map((b) => {
    const d = r.delta?.[b];
    const delta = d === null || d === undefined ? 'n/a' : `${d >= 0 ? '+' : ''}${d.toFixed(4)}`;
    return `${b}: before ${f(r.before.scores[b])}  after ${f(r.after?.scores[b])}  delta ${delta}`;
  });
}
