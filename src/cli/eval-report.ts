// `minivl eval report`: flags → buildReport / exports (src/eval/report.ts, export.ts). Thin.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode, fail } from '../errors.ts';
import { exportable, exportSubmission } from '../eval/export.ts';
import { storePathOf } from '../eval/merge.ts';
import { publishedModelOf, type PublishedModel } from '../eval/published.ts';
import { buildReport, reportMarkdown, reportSvg } from '../eval/report.ts';
import { EvalStore } from '../eval/store.ts';
import { writeTextAtomic } from '../io/atomic-write.ts';
import { parseCommandArgs, required, type CommandSpec } from './args.ts';

const CMD: CommandSpec = {
  name: 'eval report',
  help: `usage: minivl eval report --results DIR [--compare published [--as 1b|2b|4b]] [--out DIR] [--export DIR]

Prints the results in the published table's layout (nine benchmarks, the average with OCRBench / 10,
the % of InternVL2-Llama3-76B) as Markdown, then the domain benchmarks and how each number was
obtained (items, failures, malformed rows, judge, non-reference settings).

  --results DIR        a results folder of 'minivl eval run' / 'eval merge' (or its results.sqlite)
  --compare published  add the published numbers of the same checkpoint and the differences
  --as 1b|2b|4b        which published row (default: from the checkpoint's template)
  --out DIR            also write report.md, report.json and report.svg there
  --export DIR         write the submission files (DocVQA/InfoVQA RRC JSON, MMBench TSV) there
  --force              replace existing files in --out / --export
  --json               print the JSON report instead of Markdown
  -h, --help           this help
`,
};

const OPTIONS = {
  results: { type: 'string' },
  compare: { type: 'string' },
  as: { type: 'string' },
  out: { type: 'string' },
  export: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function ensureDir(flag: string, dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    fail(`${flag} ${dir}: cannot create (${errnoCode(e)})`);
  }
}

async function writeNew(path: string, text: string, force: boolean | undefined): Promise<void> {
  if (existsSync(path) && !force) fail(`${path}: already exists (pass --force to replace it)`);
  await writeTextAtomic(path, text);
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(CMD, { args: argv, options: OPTIONS, allowPositionals: false });
  if (!parsed) return 0;
  const v = parsed.values;
  if (v.compare !== undefined && v.compare !== 'published') fail(`--compare takes 'published', got '${v.compare}'`);
  if (v.as !== undefined && !['1b', '2b', '4b'].includes(v.as)) fail(`--as must be 1b, 2b or 4b, got '${v.as}'`);
  const store = EvalStore.open(storePathOf(required(CMD, '--results', v.results)), { create: false });
  try {
    let compareWith: PublishedModel | null = null;
    if (v.compare) {
      compareWith = (v.as as PublishedModel | undefined) ?? publishedModelOf(store.meta('template'));
      if (!compareWith) fail(`--compare published: cannot tell which published model this checkpoint is (template '${store.meta('template') ?? 'unknown'}'); pass --as 1b|2b|4b`);
    }
    const report = buildReport(store, compareWith);
    const md = reportMarkdown(report);
    if (v.out) {
      ensureDir('--out', v.out);
      await writeNew(join(v.out, 'report.md'), md, v.force);
      await writeNew(join(v.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`, v.force);
      await writeNew(join(v.out, 'report.svg'), reportSvg(report), v.force);
    }
    if (v.export) {
      ensureDir('--export', v.export);
      const benches = store.runs().map((r) => r.bench).filter(exportable);
      if (benches.length === 0) process.stderr.write('minivl: no benchmark in these results has a submission format (DocVQA, InfoVQA, MMBench)\n');
      for (const b of benches) {
        const name = join(v.export, b.startsWith('mmbench') ? `${b}_submission.tsv` : `${b}_submission.json`);
        if (existsSync(name) && !v.force) fail(`${name}: already exists (pass --force to replace it)`);
        process.stderr.write(`wrote ${await exportSubmission(store, b, v.export)}\n`);
      }
    }
    process.stdout.write(v.json ? `${JSON.stringify(report)}\n` : md);
    return 0;
  } finally {
    store.close();
  }
}
