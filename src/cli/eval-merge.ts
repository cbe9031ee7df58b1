// `minivl eval merge`: flags → evalMerge (src/eval/merge.ts). Thin.
import { evalMerge } from '../eval/merge.ts';
import { parseCommandArgs, printJson, required, type CommandSpec } from './args.ts';
import { judgeChoice } from './eval-run.ts';

const CMD: CommandSpec = {
  name: 'eval merge',
  help: `usage: minivl eval merge --out DIR [--force] [--judge URL|replay] STORE STORE...

Combines the results of shards of one run (results folders or their results.sqlite files) into
DIR/results.sqlite and scores it. Refuses stores made with different checkpoints, settings or data,
the same shard twice, or overlapping items.

  --out DIR            folder for the merged results (refused when it holds results, unless --force)
  --force              replace DIR/results.sqlite
  --judge URL|replay   judge for scoring (see 'minivl eval run --help'); stored replies are reused
  --judge-model NAME   model name sent to the judge
  --protocol NAME      scoring protocol (default: the published one)
  -h, --help           this help
`,
};

const OPTIONS = {
  out: { type: 'string' },
  force: { type: 'boolean' },
  judge: { type: 'string' },
  'judge-model': { type: 'string' },
  protocol: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(CMD, { args: argv, options: OPTIONS, allowPositionals: true });
  if (!parsed) return 0;
  const v = parsed.values;
  const summary = await evalMerge({
    inputs: parsed.positionals,
    outDir: required(CMD, '--out', v.out),
    force: v.force,
    judge: judgeChoice(v.judge, v['judge-model']),
    protocol: v.protocol,
  });
  printJson(summary);
  return 0;
}
