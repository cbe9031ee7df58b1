// `minivl eval run`: flags → evalRun (src/eval/run.ts). Thin.
import { basename, resolve } from 'node:path';
import { BENCH_NAMES, parseBenchList, TOOLKITS, type Toolkit } from '../eval/benchmarks.ts';
import { openaiJudge } from '../eval/judge.ts';
import { evalRun, parseShard } from '../eval/run.ts';
import type { JudgeChoice } from '../eval/scoring.ts';
import { fail } from '../errors.ts';
import { MAX_TILES } from '../image/index.ts';
import { inputDir, intFlag, parseCommandArgs, printJson, required, weightFlags, type CommandSpec } from './args.ts';

const CMD: CommandSpec = {
  name: 'eval run',
  help: `usage: minivl eval run --model DIR|REPO --bench NAME[,NAME...] --data DIR [--out DIR] [--limit N] [--shard k/n]

Runs the model on benchmarks with each one's reference settings (prompt, tiles, new tokens), storing
every answer in DIR/results.sqlite as it goes: a rerun of the same command continues where an
interrupted one stopped. Then scores what the store holds and prints a JSON summary.

  --model DIR|REPO     checkpoint folder or Hugging Face id
  --bench LIST         comma-separated: ${BENCH_NAMES.join(', ')};
                       'published' = the nine of the table, 'domain' = the domain sets
  --data DIR           folder with the benchmarks' files under the reference's names (docs/eval.md)
  --out DIR            results folder (default ./eval-results/<model name>)
  --limit N            only the first N items of each benchmark (of this shard)
  --shard k/n          run shard k (0-based) of n: contiguous item ranges; merge with 'minivl eval merge'
  --toolkit NAME       inference protocol: ${TOOLKITS.join(' | ')} (default: the one behind the published number)
  --protocol NAME      scoring protocol (default: the published one; see 'minivl eval score')
  --judge URL|replay   OpenAI-compatible judge base URL (key from OPENAI_API_KEY), or 'replay' to use only
                       the judge replies stored in the results; without it the rule-only path is used
                       and the report says so
  --judge-model NAME   model name sent to the judge (default: the reference's per request)
  --max-num N          tiles per image instead of the reference's (1 to ${MAX_TILES}; recorded, reported)
  --max-new-tokens N   new-token cap instead of the reference's (recorded, reported)
  --dtype P            weight precision: fp32 (default; the published numbers' bf16 weights, exactly), fp16,
                       int8 or int4 (recorded, reported; the default --out gets a -P suffix)
  --threads N          ONNX Runtime intra-op threads
  -h, --help           this help

Ctrl-C stops after the item in flight is abandoned (exit 130); rerun to continue.
`,
};

const OPTIONS = {
  model: { type: 'string' },
  bench: { type: 'string' },
  data: { type: 'string' },
  out: { type: 'string' },
  limit: { type: 'string' },
  shard: { type: 'string' },
  toolkit: { type: 'string' },
  protocol: { type: 'string' },
  judge: { type: 'string' },
  'judge-model': { type: 'string' },
  'max-num': { type: 'string' },
  'max-new-tokens': { type: 'string' },
  dtype: { type: 'string' },
  threads: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function judgeChoice(url: string | undefined, model: string | undefined): JudgeChoice {
  if (url === undefined) {
    if (model !== undefined) fail('--judge-model needs --judge URL');
    return { kind: 'none' };
  }
  if (url === 'replay') return { kind: 'replay' };
  return { kind: 'live', judge: openaiJudge({ baseUrl: url, model }), label: model ? `${url} (${model})` : url };
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(CMD, { args: argv, options: OPTIONS, allowPositionals: false });
  if (!parsed) return 0;
  const v = parsed.values;
  const model = required(CMD, '--model', v.model);
  const benches = parseBenchList(required(CMD, '--bench', v.bench));
  const dataDir = inputDir('--data', required(CMD, '--data', v.data));
  const toolkit = v.toolkit as Toolkit | undefined;
  if (toolkit !== undefined && !TOOLKITS.includes(toolkit)) fail(`--toolkit must be one of ${TOOLKITS.join(', ')}, got '${toolkit}'`);
  const { dtype } = weightFlags(v);
  const outDir = v.out ?? resolve('eval-results', basename(resolve(model)) + (dtype && dtype !== 'fp32' ? `-${dtype}` : ''));
  const ac = new AbortController();
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(130); // a second Ctrl-C does not wait
    process.stderr.write('\nminivl: interrupted; stopping after the item in flight (answers so far are stored)\n');
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const summary = await evalRun({
      model,
      benches,
      dataDir,
      outDir,
      toolkit,
      limit: intFlag('--limit', v.limit, { min: 1 }),
      shard: v.shard === undefined ? undefined : parseShard(v.shard),
      overrides: { maxNum: intFlag('--max-num', v['max-num'], { min: 1, max: MAX_TILES }), maxNewTokens: intFlag('--max-new-tokens', v['max-new-tokens'], { min: 1 }), dtype },
      judge: judgeChoice(v.judge, v['judge-model']),
      protocol: v.protocol,
      threads: intFlag('--threads', v.threads, { min: 1 }),
      signal: ac.signal,
    });
    printJson(summary);
    if (summary.interrupted) {
      process.stderr.write(`minivl: eval run interrupted; rerun the same command to continue (${summary.store})\n`);
      return 130;
    }
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
