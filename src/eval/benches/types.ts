/** What every benchmark scorer shares: its contract with score.ts, and small aggregation helpers. */
import { createHash } from 'node:crypto';
import type { Judge } from '../judge.ts';
import type { FixQuirks } from '../quirks.ts';
import { isFixed } from '../quirks.ts';
import * as F from '../items.ts';
import type { Raw, ScoreItem } from '../items.ts';
import { seededRandom, type McqContext, type Via } from '../metrics/mcq.ts';

export type { Raw, ScoreItem };
export type { Via };

export type Protocol = 'internvl' | 'vlmevalkit';

/** One scored line (or circular group): `correct` for hits, `score` (0..1) for graded metrics. */
export interface ItemResult {
  id: string | number;
  correct?: boolean;
  score?: number;
  /** The answer the rules (or the judge) took from the prediction, when the metric extracts one. */
  extracted?: string;
  /** How it was extracted: rules, the judge, the reference's random fallback, or nothing (a miss). */
  via?: Via;
  /** DriveLM: gated out by the frame's graph (not counted). */
  skipped?: boolean;
}

/** What a scorer gets besides its items: the judge (if any), the quirks to fix, the random seed. */
export interface Ctx {
  judge?: Judge;
  fix: FixQuirks;
  seed: number;
  /** Where item i came from ("FILE:LINE" or "item N"), for errors found while scoring. */
  where: (i: number) => string;
  /** Items scored at once (their judge calls in flight together, as VLMEvalKit's nproc). */
  parallel: number;
}

/** A scorer's answer; score.ts adds the bench, protocol, judge summary and quirks. */
export interface BenchOutcome {
  score: number | null;
  items: ItemResult[];
  breakdown?: Record<string, number>;
  note?: string;
}

export interface BenchSpec {
  protocols: readonly Protocol[];
  /** Line fields beyond id and prediction (for help texts and errors). */
  fields: string;
  /** Consults a judge in some protocol. */
  judged: readonly Protocol[];
  parse(where: string, raw: Raw): ScoreItem;
  score(items: ScoreItem[], protocol: Protocol, ctx: Ctx): Promise<BenchOutcome>;
}

export const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);
export const pct = (xs: readonly boolean[]) => 100 * mean(xs.map((x) => (x ? 1 : 0)));

/** Accuracy ×100 per value of `field` (category, split, task, ...). */
export function groupPct(items: readonly ScoreItem[], hits: readonly boolean[], field: string, prefix = `${field}:`): Record<string, number> {
  const by = new Map<string, boolean[]>();
  items.forEach((it, i) => {
    const v = it[field];
    if (typeof v !== 'string') return;
    by.set(v, [...(by.get(v) ?? []), hits[i]!]);
  });
  return Object.fromEntries([...by].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [`${prefix}${k}`, pct(v)]));
}

function rngFor(seed: number, id: string | number): (n: number) => number {
  return seededRandom(createHash('sha256').update(`${seed}:${id}`).digest().readUInt32LE(0));
}

export function mcqCtx(ctx: Ctx, id: string | number): McqContext {
  return { judge: ctx.judge, random: rngFor(ctx.seed, id), canInfer: { articleA: isFixed(ctx.fix, 'can-infer-article') } };
}

/** A line whose `answer` is a string or a list of strings (a Python-literal list too, with `literal`). */
export const withAnswerList = (where: string, raw: Raw, b: ReturnType<typeof F.base>, literal: false | 'strict' | 'lenient' = false): ScoreItem => ({
  ...raw,
  id: b.id,
  prediction: b.prediction,
  answer: F.strList(where, raw, 'answer', literal),
});

/** `fn` over `xs` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(xs: readonly T[], limit: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(xs.length);
  let next = 0;
  const worker = async () => {
    while (next < xs.length) {
      const i = next++;
      out[i] = await fn(xs[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, xs.length)) }, worker));
  return out;
}
