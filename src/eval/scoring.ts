/**
 * Scores what a store holds with the metrics of score.ts, benchmark by benchmark, and writes the result
 * back: per-item extracted answer and score, the table score, and every judge exchange. Re-scoring
 * replays stored judge replies, so a new judge (or none) never needs the model to run again.
 */
import { MinivlError } from '../errors.ts';
import type { BenchDef } from './benchmarks.ts';
import type { Judge, JudgeExchange, JudgeRequest } from './judge.ts';
import { replayJudge } from './judge.ts';
import { FAIL_MSG } from './metrics/can-infer.ts';
import { BENCHES, benchSpec, parseItem, scoreItems, type BenchName, type Protocol, type ScoreResult } from './score.ts';
import type { BenchResult, EvalStore, ScoreRow } from './store.ts';

/** How a judge is consulted: not at all (rules only), live (stored replies first), or stored replies only. */
export type JudgeChoice = { kind: 'none' } | { kind: 'live'; judge: Judge; label: string } | { kind: 'replay' };

export interface ScoreOptions {
  judge: JudgeChoice;
  protocol?: string;
  fixQuirks?: boolean;
}

/** Scores one benchmark of the store; returns what was written to its `results` row. */
export async function scoreStoredBench(store: EvalStore, bench: BenchDef, opts: ScoreOptions): Promise<BenchResult> {
  const rows = store.items(bench.name);
  const problems = store.problems(bench.name).length;
  const errors = rows.filter((r) => r.status === 'error').length;
  const base = { bench: bench.name, judge: judgeLabel(opts.judge), items: rows.length, errors, problems, scoredAt: new Date().toISOString() };
  const lines = rows.map((r) => ({ id: r.id, prediction: r.status === 'done' ? r.prediction : '', ...(JSON.parse(r.fields) as Record<string, unknown>) }));
  // Test splits ship without answers (MMBench test TSVs): scored by the official server only.
  const noAnswers = lines.length > 0 && lines.every((l) => 'answer' in l && (l.answer === '' || l.answer === null));
  if (!bench.scored || noAnswers) {
    const summary = { note: 'no local metric (test split scored by the official server): export the submission file with `minivl eval report --export`' };
    const r: BenchResult = { ...base, protocol: 'server', score: null, summary: JSON.stringify(summary) };
    store.putScores(r, []);
    return r;
  }
  // (Above, an item the model could not answer — unreadable image, context overflow — gets an empty answer:
  // counted wrong, never dropped; the report lists the failures.)
  const judge = makeJudge(store, opts.judge);
  const record = (ex: JudgeExchange) => store.putJudge(ex.key, bench.name, '', ex.request.model, JSON.stringify(ex.request), ex.reply);
  // ChartQA's published score is the mean of its two files' scores; other benches have one part.
  const locationOf = new Map(rows.map((r) => [r.id, `${r.location} (id ${r.id})`]));
  // A line the metric cannot read (a field outside the metric's domain, e.g. an unknown OCRBench category) is
  // that item's problem: listed in the summary and left out, so the rest of the benchmark is still scored.
  const unscorable: Array<{ id: string; message: string }> = [];
  const scorable = lines.filter((l) => {
    if (!(bench.name in BENCHES)) return true;
    try {
      parseItem(bench.name as BenchName, l, locationOf.get(l.id) ?? l.id);
      return true;
    } catch (e) {
      if (!(e instanceof MinivlError)) throw e;
      unscorable.push({ id: l.id, message: e.message });
      return false;
    }
  });
  const parts = groupByPart(scorable);
  const results: Array<{ part: string; r: ScoreResult }> = [];
  try {
    benchSpec(bench.name); // a benchmark without a metric is a one-line error, recorded below
    for (const [part, partLines] of parts) {
      results.push({ part, r: await scoreItems(bench.name as BenchName, opts.protocol as Protocol | undefined, partLines, {
        judge, fixQuirks: opts.fixQuirks, onJudgeExchange: record, locate: (i) => locationOf.get(String(partLines[i]!.id)) ?? `item ${i + 1}`,
      }) });
    }
  } catch (e) {
    if (!(e instanceof MinivlError)) throw e;
    const r: BenchResult = { ...base, protocol: opts.protocol ?? '', score: null, summary: JSON.stringify({ error: e.message }) };
    store.putScores(r, []);
    return r;
  }
  const first = results[0]?.r;
  const scores = results.map((x) => x.r.score);
  const score = scores.length === 0 || scores.some((s) => s === null) ? null : (scores as number[]).reduce((a, b) => a + b, 0) / scores.length;
  const breakdown: Record<string, number> = {};
  for (const { part, r } of results) {
    if (parts.size > 1 && r.score !== null) breakdown[part] = r.score;
    for (const [k, v] of Object.entries(r.breakdown ?? {})) breakdown[parts.size > 1 ? `${part}/${k}` : k] = v;
  }
  const judgeInfo = results.reduce(
    (a, { r }) => ({ used: a.used || r.judge.used, calls: a.calls + r.judge.calls, failures: a.failures + r.judge.failures, note: a.note ?? r.judge.note }),
    { used: false, calls: 0, failures: 0, note: undefined as string | undefined },
  );
  const summary = {
    breakdown, judge: judgeInfo, quirksFixed: first?.quirks.fixed ?? [], parts: parts.size > 1 ? [...parts.keys()] : undefined,
    unscorable: unscorable.length > 0 ? unscorable : undefined,
  };
  const scoreRows: ScoreRow[] = results.flatMap(({ r }) =>
    r.items.map((it) => ({
      id: String(it.id),
      extracted: it.extracted ?? null,
      score: typeof it.score === 'number' ? it.score : it.correct === undefined ? null : it.correct ? 1 : 0,
      correct: typeof it.correct === 'boolean' ? it.correct : null,
      detail: it.via ?? null,
    })),
  );
  const result: BenchResult = { ...base, protocol: first?.protocol ?? opts.protocol ?? '', score, summary: JSON.stringify(summary) };
  store.putScores(result, scoreRows);
  return result;
}

function groupByPart(lines: Array<Record<string, unknown> & { id: string }>): Map<string, Array<Record<string, unknown>>> {
  const m = new Map<string, Array<Record<string, unknown>>>();
  for (const l of lines) {
    const slash = l.id.indexOf('/');
    const part = slash > 0 && /^(human|augmented)\//.test(l.id) ? l.id.slice(0, slash) : '';
    (m.get(part) ?? m.set(part, []).get(part)!).push(l);
  }
  return m;
}

function storedExchanges(store: EvalStore): JudgeExchange[] {
  const rows = store.db.prepare('SELECT key, request, reply FROM judge').all() as Array<{ key: string; request: string; reply: string }>;
  return rows.map((r) => ({ key: r.key, request: JSON.parse(r.request) as JudgeRequest, reply: r.reply }));
}

function makeJudge(store: EvalStore, choice: JudgeChoice): Judge | undefined {
  if (choice.kind === 'none') return undefined;
  const stored = storedExchanges(store);
  if (choice.kind === 'replay') return replayJudge(stored); // failures too: the same score as before
  // With a live judge, a stored failed call (API down) is asked again instead of being replayed forever.
  return replayJudge(stored.filter((ex) => !ex.reply.includes(FAIL_MSG)), { fallback: choice.judge });
}

export function judgeLabel(choice: JudgeChoice): string {
  return choice.kind === 'none' ? '' : choice.kind === 'replay' ? 'replay (stored replies)' : choice.label;
}
