/**
 * Scoring predictions with the reference's rules (evaluation.md), for `minivl eval score` and `eval run`.
 *
 * ── API (for the runner, the store and the report) ─────────────────────────────────────────────────
 *
 *   import { scoreItems, BENCH_NAMES, defaultProtocol, benchProtocols, usesJudge, parseItem } from './score.ts';
 *   import { openaiJudge, recordingJudge, replayJudge } from './judge.ts';
 *
 *   const r = await scoreItems('chartqa', undefined, items,
 *     { judge?, fixQuirks?, seed?, onJudgeExchange?, judgeParallel? (default 4), locate?: (i) => 'FILE:LINE' });
 *   // r: ScoreResult = {
 *   //   bench, protocol, n,              // protocol resolved (undefined → the bench's default); n = items.length
 *   //   score: number | null,            // as the published table shows it (accuracy ×100; OCRBench 0–1000;
 *   //                                    //   DriveLM the 0–1 final score; null when it needs a judge and none was given)
 *   //   items: ItemResult[],             // {id, correct} (hit) or {id, score} (graded 0..1), + `extracted`, `via`
 *   //   breakdown: Record<string, number>,  // per category / task / type / split, same unit as `score`
 *   //   judge: { used: boolean, model?: string (the models asked), calls, failures, note?: string },
 *   //   quirks: { fixed: QuirkName[] },   // the §11 quirks replaced by the corrected rule ([] = reference)
 *   // }
 *
 * `items` are the lines of DESIGN.md's table: `{id, prediction, ...fields per bench}` (see BENCHES[bench].fields and
 * `parseItem` below, which checks a raw JSON object and throws a one-line MinivlError naming `where`, e.g.
 * "preds.jsonl:12"). Grouped benches (MMBench) return one item per circular group (`id` = index % 1e6).
 * Problems found across lines (duplicate ids, a circular copy without its question) also throw one-line errors.
 *
 * Judge (`judge.ts`): a `Judge` is `{ ask(req: JudgeRequest): Promise<string> }`; requests carry the reference's
 * prompt, temperature, max_tokens and default judge model. `openaiJudge({ baseUrl, model?, apiKey? })` talks to
 * an OpenAI-compatible `/chat/completions` with `fetch`; an API failure yields the reference's fail text, never a
 * throw. To store exchanges pass `onJudgeExchange(ex: JudgeExchange)` (ex = {key, request, reply}) or wrap a judge
 * with `recordingJudge(judge, cb)`; to re-score without calling the judge again, `replayJudge(storedExchanges,
 * { fallback?: Judge })` answers by `ex.key` (sha256 of the canonical request) and throws a MinivlError for a
 * request it has no reply for (unless a fallback judge is given). No judge: the reference's rule-only path, and
 * `result.judge = { used: false, note: '...' }` says so (the CLI also prints the note on stderr).
 *
 * Quirks (evaluation.md §11): reproduced by default; `fixQuirks: true` (all) or a list of QUIRK_NAMES applies the
 * corrected rule instead. Quirk 7 (evaluate.sh's rsvqa mapping and scorer paths) and the MME-RW prompt half of quirk 8
 * concern datasets/prompts (the runner's), not scoring.
 *
 * Bench names and default protocols (BENCHES):
 *   ai2d internvl · chartqa internvl|vlmevalkit · docvqa, infovqa internvl|vlmevalkit · ocrbench vlmevalkit ·
 *   mmbench-en, mmbench-cn vlmevalkit|internvl · mmmu vlmevalkit|internvl · mathvista vlmevalkit|internvl ·
 *   drivelm internvl · mme-realworld internvl · rsvqa-lr, rsvqa-hr-test1, rsvqa-hr-test2 internvl ·
 *   dior-rsvg internvl · gmai-mmbench vlmevalkit.
 *   (The first of each list is the default. Table average: `tableAverage()` in metrics/table.ts.)
 */
import { fail } from '../errors.ts';
import { fixedQuirks, type FixQuirks, type QuirkName } from './quirks.ts';
import { recordingJudge, type Judge, type JudgeExchange } from './judge.ts';
import * as F from './items.ts';
import type { ScoreItem } from './items.ts';
import { FAIL_MSG } from './metrics/can-infer.ts';
import type { BenchSpec, ItemResult, Protocol } from './benches/types.ts';
import { ai2d, anlsBench, chartqa, ocrbench } from './benches/vqa.ts';
import { gmai, mmbench, mmmu } from './benches/choice.ts';
import { mathvista } from './benches/mathvista.ts';
import { diorRsvg, mmeRealWorld, rsvqa } from './benches/domain.ts';
import { drivelm } from './benches/drivelm.ts';

export type { ItemResult, Protocol } from './benches/types.ts';
export type { ScoreItem } from './items.ts';
export type { QuirkName } from './quirks.ts';
export { QUIRK_NAMES, QUIRKS } from './quirks.ts';

export interface JudgeSummary {
  used: boolean;
  /** The model(s) asked (the reference's defaults unless a judge overrides them). */
  model?: string;
  calls: number;
  failures: number;
  note?: string;
}

export interface ScoreResult {
  bench: BenchName;
  protocol: Protocol;
  score: number | null;
  n: number;
  items: ItemResult[];
  breakdown: Record<string, number>;
  judge: JudgeSummary;
  quirks: { fixed: QuirkName[] };
}

export interface ScoreOptions {
  judge?: Judge;
  fixQuirks?: FixQuirks;
  /** Seed of the reference's random letter after failed judge tries (default 0). */
  seed?: number;
  /** Every judge request and reply, to store them (re-scoring: `replayJudge`). */
  onJudgeExchange?: (ex: JudgeExchange) => void | Promise<void>;
  /** Items whose judge calls may be in flight at once (default 4, VLMEvalKit's nproc). */
  judgeParallel?: number;
  /** Where item i came from, for error messages (default "item i+1"; the CLI passes "FILE:LINE"). */
  locate?: (i: number) => string;
}

export const BENCHES = {
  ai2d,
  chartqa,
  docvqa: anlsBench,
  infovqa: anlsBench,
  ocrbench,
  'mmbench-en': mmbench,
  'mmbench-cn': mmbench,
  mmmu,
  mathvista,
  drivelm,
  'mme-realworld': mmeRealWorld,
  'rsvqa-lr': rsvqa,
  'rsvqa-hr-test1': rsvqa,
  'rsvqa-hr-test2': rsvqa,
  'dior-rsvg': diorRsvg,
  'gmai-mmbench': gmai,
} satisfies Record<string, BenchSpec>;

export type BenchName = keyof typeof BENCHES;
export const BENCH_NAMES = Object.keys(BENCHES) as BenchName[];

export function benchSpec(bench: string): BenchSpec {
  return (BENCHES as Record<string, BenchSpec>)[bench] ?? fail(`unknown benchmark '${bench}' (known: ${BENCH_NAMES.join(', ')})`);
}

/** The protocol behind the published number (evaluation.md, first table). */
export function defaultProtocol(bench: BenchName): Protocol {
  return benchSpec(bench).protocols[0]!;
}

/** The protocols a bench is scored with; the first is the default. */
export function benchProtocols(bench: BenchName): readonly Protocol[] {
  return benchSpec(bench).protocols;
}

/** Whether `protocol` of `bench` consults a judge model. */
export function usesJudge(bench: BenchName, protocol?: Protocol): boolean {
  const spec = benchSpec(bench);
  return spec.judged.includes(protocol ?? spec.protocols[0]!);
}

/** Checks one raw prediction line for `bench`; one-line MinivlError naming `where` (e.g. "preds.jsonl:12"). */
export function parseItem(bench: BenchName, raw: unknown, where: string): ScoreItem {
  return benchSpec(bench).parse(where, F.base(where, raw).raw);
}

function resolveProtocol(bench: BenchName, protocol: string | undefined): Protocol {
  const spec = benchSpec(bench);
  if (protocol === undefined) return spec.protocols[0]!;
  if (!(spec.protocols as readonly string[]).includes(protocol)) fail(`benchmark '${bench}' has no protocol '${protocol}' (available: ${spec.protocols.join(', ')})`);
  return protocol as Protocol;
}

/** Scores prediction lines of one benchmark with the reference's rules. */
export async function scoreItems(bench: BenchName, protocol: Protocol | undefined, items: readonly unknown[], opts: ScoreOptions = {}): Promise<ScoreResult> {
  const spec = benchSpec(bench);
  const proto = resolveProtocol(bench, protocol);
  const fixed = fixedQuirks(opts.fixQuirks);
  const where = opts.locate ?? ((i: number) => `item ${i + 1}`);
  const parsed = items.map((raw, i) => spec.parse(where(i), F.base(where(i), raw).raw));
  const idField = bench.startsWith('mmbench') ? 'index' : 'id';
  const seen = new Map<string, number>();
  parsed.forEach((it, i) => {
    const key = String(it[idField]);
    const first = seen.get(key);
    if (first !== undefined) fail(`${where(i)}: duplicate ${idField} ${JSON.stringify(it[idField])} (first at ${where(first)})`);
    seen.set(key, i);
  });

  const judged = spec.judged.includes(proto);
  let calls = 0;
  let failures = 0;
  const models = new Set<string>();
  let judge: Judge | undefined;
  if (judged && opts.judge) {
    const inner = opts.onJudgeExchange ? recordingJudge(opts.judge, opts.onJudgeExchange) : opts.judge;
    judge = {
      model: inner.model,
      async ask(req) {
        calls++;
        models.add(inner.model ?? req.model);
        const reply = await inner.ask(req);
        if (reply.includes(FAIL_MSG)) failures++;
        return reply;
      },
    };
  }
  const r = await spec.score(parsed, proto, { judge, fix: fixed, seed: opts.seed ?? 0, where, parallel: opts.judgeParallel ?? 4 });
  const summary: JudgeSummary = { used: judge !== undefined, model: models.size ? [...models].join(',') : undefined, calls, failures };
  if (judged && !judge) summary.note = `no judge: ${bench} (${proto}) scored with the reference's rule-only path; answers the rules cannot read count as misses`;
  if (r.note) summary.note = summary.note ? `${summary.note}; ${r.note}` : r.note;
  return { bench, protocol: proto, score: r.score, n: r.items.length, items: r.items, breakdown: r.breakdown ?? {}, judge: summary, quirks: { fixed } };
}

