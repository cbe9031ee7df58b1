/**
 * `minivl eval report`: what a results store says, in the published layout — the nine benchmarks, the
 * average (OCRBench / 10) and the % of InternVL2-Llama3-76B — with, under `--compare published`, the
 * difference from the published numbers of the same checkpoint; Markdown, JSON and an SVG chart. Every
 * benchmark row also says how it was obtained: items, failures, malformed rows, judge or none, settings
 * that differ from the reference, shards missing.
 */
import { BENCH_NAMES, getBench, PUBLISHED_BENCHES } from './benchmarks.ts';
import { renderChart } from './chart.ts';
import { tableAverage, REFERENCE_76B_AVG } from './metrics/table.ts';
import { PUBLISHED_AVG, PUBLISHED_TABLE, PUBLISHED_VAL, type PublishedModel } from './published.ts';
import { needsJudge } from './run.ts';
import type { BenchResult, BenchRun, EvalStore } from './store.ts';

export interface BenchReport {
  bench: string;
  title: string;
  score: number | null;
  protocol: string;
  items: number;
  /** Items of the whole benchmark (before shards and --limit). */
  totalItems: number;
  errors: number;
  malformed: number;
  judge: string;
  /** Settings that differ from the reference, a missing judge, missing shards, a scoring error. */
  notes: string[];
  breakdown: Record<string, number>;
  published: number | null;
  difference: number | null;
}

export interface Report {
  model: string;
  compareWith: PublishedModel | null;
  table: { benches: BenchReport[]; average: number | null; percentOf76B: number | null; publishedAverage: number | null; publishedPercentLabel: number | null };
  /** Local splits compared with the InternVL docs' numbers (DocVQA/InfoVQA val, ChartQA per file). */
  details: Array<{ key: string; run: number | null; published: number; difference: number | null }>;
  domain: BenchReport[];
}

function benchReport(store: EvalStore, run: BenchRun, result: BenchResult | null, published: Record<string, number> | null): BenchReport {
  const def = getBench(run.bench);
  const settings = JSON.parse(run.settings) as { overrides?: string[] };
  const summary = result
    ? (JSON.parse(result.summary) as { breakdown?: Record<string, number>; error?: string; note?: string; unscorable?: Array<{ message: string }> })
    : {};
  const notes: string[] = [];
  const items = result?.items ?? store.items(run.bench).length;
  if (settings.overrides?.length) notes.push(`not the reference settings: ${settings.overrides.join(', ')}`);
  if (items < run.totalItems) notes.push(`${items} of ${run.totalItems} items${run.shard ? ` (shards ${run.shard})` : ''}`);
  if (!result) notes.push('not scored yet');
  if (summary.error) notes.push(`scoring failed: ${summary.error}`);
  if (summary.note) notes.push(summary.note);
  if (summary.unscorable?.length) notes.push(`${summary.unscorable.length} item(s) left out of the score, e.g. ${summary.unscorable[0]!.message}`);
  if (result && result.judge === '' && needsJudge(run.bench, result.protocol || undefined)) notes.push('no judge: rule-only scoring (the published number used a judge)');
  const score = result?.score ?? null;
  // DocVQA/InfoVQA are scored on val here; the table's cell is the test server's, compared in `details`.
  const comparable = published && !['docvqa', 'infovqa'].includes(run.bench) ? (published[run.bench] ?? null) : null;
  return {
    bench: run.bench, title: def.title, score, protocol: result?.protocol ?? '', items, totalItems: run.totalItems,
    errors: result?.errors ?? 0, malformed: store.problems(run.bench).length, judge: result?.judge ?? '', notes,
    breakdown: summary.breakdown ?? {}, published: comparable, difference: score !== null && comparable !== null ? score - comparable : null,
  };
}

export function buildReport(store: EvalStore, compareWith: PublishedModel | null): Report {
  const runs = new Map(store.runs().map((r) => [r.bench, r]));
  const published = compareWith ? PUBLISHED_TABLE[compareWith] : null;
  const table = PUBLISHED_BENCHES.filter((b) => runs.has(b)).map((b) => benchReport(store, runs.get(b)!, store.result(b), published));
  const scores = Object.fromEntries(table.map((b) => [b.bench, b.score]));
  const { avg, relative } = tableAverage(scores);
  const details: Report['details'] = [];
  if (compareWith) {
    for (const [key, pub] of Object.entries(PUBLISHED_VAL[compareWith])) {
      const [bench, part] = key.split('/') as [string, string | undefined];
      const b = table.find((x) => x.bench === bench);
      if (!b) continue;
      const v = part ? (b.breakdown[part] ?? null) : b.score;
      details.push({ key: part ? `${bench} ${part}` : `${bench} val`, run: v, published: pub, difference: v === null ? null : v - pub });
    }
  }
  const domain = BENCH_NAMES.filter((b) => runs.has(b) && !PUBLISHED_BENCHES.includes(b)).map((b) => benchReport(store, runs.get(b)!, store.result(b), null));
  return {
    model: [...runs.values()][0]?.modelName ?? '',
    compareWith,
    table: {
      benches: table,
      average: avg,
      percentOf76B: relative === null ? null : relative * 100,
      publishedAverage: compareWith ? PUBLISHED_AVG[compareWith].avg : null,
      publishedPercentLabel: compareWith ? PUBLISHED_AVG[compareWith].percentLabel : null,
    },
    details,
    domain,
  };
}

const fmt = (v: number | null, digits = 1) => (v === null ? '-' : v.toFixed(digits));
const signed = (v: number | null, digits = 1) => (v === null ? '-' : `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`);
const cell = (b: BenchReport | undefined, f: (b: BenchReport) => string) => (b ? f(b) : '-');

export function reportMarkdown(r: Report): string {
  const cols = PUBLISHED_BENCHES.map((name) => r.table.benches.find((b) => b.bench === name));
  const titles = ['MMMU val', 'MathVista testmini', 'AI2D', 'ChartQA', 'DocVQA val', 'InfoVQA val', 'OCRBench', 'MMB-EN', 'MMB-CN'];
  const digits = (i: number) => (i === 6 ? 0 : 1);
  const lines: string[] = [`# Evaluation report: ${r.model}`, ''];
  lines.push(`| | ${titles.join(' | ')} | Avg |`, `|---|${titles.map(() => '---').join('|')}|---|`);
  lines.push(`| this run | ${cols.map((b, i) => cell(b, (x) => fmt(x.score, digits(i)))).join(' | ')} | ${fmt(r.table.average)}${r.table.percentOf76B === null ? '' : ` (${r.table.percentOf76B.toFixed(1)} % of 76B)`} |`);
  if (r.compareWith) {
    const pub = PUBLISHED_TABLE[r.compareWith];
    lines.push(`| published ${r.compareWith.toUpperCase()} | ${PUBLISHED_BENCHES.map((b, i) => (['docvqa', 'infovqa'].includes(b) ? `(test ${fmt(pub[b]!, 1)})` : fmt(pub[b]!, digits(i)))).join(' | ')} | ${fmt(r.table.publishedAverage)} (${r.table.publishedPercentLabel} %) |`);
    lines.push(`| difference | ${cols.map((b, i) => cell(b, (x) => signed(x.difference, digits(i)))).join(' | ')} | |`);
  }
  lines.push('', `Average: mean of the benchmarks present, OCRBench / 10; % of InternVL2-Llama3-76B (average ${REFERENCE_76B_AVG.toFixed(2)}).`);
  lines.push('DocVQA and InfoVQA are scored on val here (the table\'s cells are test-server numbers); the val numbers of the InternVL docs are compared below.');
  if (r.details.length) {
    lines.push('', '| split | this run | published | difference |', '|---|---|---|---|');
    for (const d of r.details) lines.push(`| ${d.key} | ${fmt(d.run, 2)} | ${d.published.toFixed(2)} | ${signed(d.difference, 2)} |`);
  }
  const all = [...r.table.benches, ...r.domain];
  if (r.domain.length) {
    lines.push('', '## Domain benchmarks', '', '| benchmark | score | breakdown |', '|---|---|---|');
    for (const b of r.domain) lines.push(`| ${b.title} | ${fmt(b.score, 2)} | ${Object.entries(b.breakdown).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ') || '-'} |`);
  }
  lines.push('', '## How each number was obtained', '', '| benchmark | protocol | items | failed | malformed rows | judge | notes |', '|---|---|---|---|---|---|---|');
  for (const b of all) lines.push(`| ${b.bench} | ${b.protocol || '-'} | ${b.items}/${b.totalItems} | ${b.errors} | ${b.malformed} | ${b.judge || 'none'} | ${b.notes.join('; ') || '-'} |`);
  return `${lines.join('\n')}\n`;
}

export function reportSvg(r: Report): string {
  const pub = r.compareWith ? PUBLISHED_TABLE[r.compareWith] : null;
  const norm = (b: string, v: number | null | undefined) => (v === null || v === undefined ? null : b === 'ocrbench' ? v / 10 : v);
  const bars = PUBLISHED_BENCHES.map((name) => {
    const b = r.table.benches.find((x) => x.bench === name);
    const pubVal = pub && !['docvqa', 'infovqa'].includes(name) ? pub[name] : r.compareWith ? PUBLISHED_VAL[r.compareWith][name] : undefined;
    return { label: name, run: norm(name, b?.score), published: norm(name, pubVal) };
  });
  bars.push({ label: 'Avg', run: r.table.average, published: r.table.publishedAverage });
  return renderChart(`${r.model}${r.compareWith ? ` vs published ${r.compareWith.toUpperCase()}` : ''}`, bars);
}
