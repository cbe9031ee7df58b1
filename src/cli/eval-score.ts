// `minivl eval score`: score a predictions JSONL with the reference's rules; one JSON object on stdout.
import { appendFileSync } from 'node:fs';
import { fail } from '../errors.ts';
import { openaiJudge, replayJudge, type Judge } from '../eval/judge.ts';
import { readJsonLines, readJudgeLog } from '../eval/predictions.ts';
import { BENCH_NAMES, QUIRK_NAMES, benchProtocols, benchSpec, scoreItems, usesJudge, type BenchName, type Protocol, type QuirkName } from '../eval/score.ts';
import { inputFile, intFlag, outputFile, parseCommandArgs, printJson, required, type CommandSpec } from './args.ts';

const CMD: CommandSpec = {
  name: 'eval score',
  help: `usage: minivl eval score --bench NAME [--protocol internvl|vlmevalkit] --predictions FILE.jsonl [--judge BASE_URL]

Scores predictions made by any system with the reference's rules and prints one JSON object:
{"bench", "protocol", "score", "n", "items": [{"id", "correct"} | {"id", "score"}], "breakdown", "judge", "quirks"}.

  --bench NAME            one of the benches below
  --protocol P            internvl | vlmevalkit (default: the one behind the published number)
  --predictions FILE      one JSON object per line: id, prediction and the bench's fields
  --judge BASE_URL        OpenAI-compatible judge (e.g. http://host:8000/v1; key from OPENAI_API_KEY)
                          for MMMU, MathVista, MMBench, GMAI-MMBench and DriveLM; without it the
                          reference's rule-only path is used and the output says so
  --judge-model NAME      ask this model instead of the reference's (gpt-3.5-turbo-0125, gpt-4-1106-preview)
  --judge-log FILE        append every judge request and reply (JSONL) to FILE
  --judge-replay FILE     answer judge requests from a --judge-log file (with --judge: the rest live)
  --judge-parallel N      items whose judge calls may run at once (default 4, VLMEvalKit's nproc)
  --fix QUIRK[,QUIRK]     apply the corrected rule for reference quirks (evaluation.md §11), or 'all':
                          ${QUIRK_NAMES.join(', ')}
  --seed N                seed of the reference's random letter after failed judge tries (default 0)
  -h, --help              this help

Benches (default protocol first) and the fields of a line besides id and prediction:
${BENCH_NAMES.map((b) => `  ${b.padEnd(16)}${benchProtocols(b).join('|').padEnd(20)}${benchSpec(b).fields}`).join('\n')}
`,
};

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(CMD, {
    args: argv,
    options: {
      bench: { type: 'string' },
      protocol: { type: 'string' },
      predictions: { type: 'string' },
      judge: { type: 'string' },
      'judge-model': { type: 'string' },
      'judge-log': { type: 'string' },
      'judge-replay': { type: 'string' },
      'judge-parallel': { type: 'string' },
      fix: { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (!args) return 0;
  const v = args.values;
  const bench = required(CMD, '--bench', v.bench) as BenchName;
  benchSpec(bench); // unknown names fail before reading anything
  const protocol = v.protocol as Protocol | undefined;
  const file = inputFile('--predictions', required(CMD, '--predictions', v.predictions));
  const fix = parseFix(v.fix);
  const seed = intFlag('--seed', v.seed, { min: 0 });
  const judgeParallel = intFlag('--judge-parallel', v['judge-parallel'], { min: 1, max: 256 });
  const log = v['judge-log'] === undefined ? undefined : outputFile('--judge-log', v['judge-log']);
  if (v['judge-model'] !== undefined && v.judge === undefined && v['judge-replay'] === undefined) fail('--judge-model needs --judge or --judge-replay');

  let judge: Judge | undefined = v.judge === undefined ? undefined : openaiJudge({ baseUrl: v.judge, model: v['judge-model'] });
  if (v['judge-replay'] !== undefined) {
    judge = replayJudge(readJudgeLog(inputFile('--judge-replay', v['judge-replay'])), { fallback: judge, model: v['judge-model'] });
  }
  const { values, where } = readJsonLines(file);
  const result = await scoreItems(bench, protocol, values, {
    judge,
    fixQuirks: fix,
    seed,
    judgeParallel,
    locate: (i) => where[i]!,
    onJudgeExchange: log ? (ex) => appendFileSync(log, `${JSON.stringify(ex)}\n`) : undefined,
  });
  if (!result.judge.used && usesJudge(bench, result.protocol)) process.stderr.write(`minivl: note: ${result.judge.note}\n`);
  else if (result.judge.note) process.stderr.write(`minivl: note: ${result.judge.note}\n`);
  if (result.judge.failures) process.stderr.write(`minivl: warning: ${result.judge.failures} of ${result.judge.calls} judge calls failed (scored as the reference does)\n`);
  printJson(result);
  return 0;
}

function parseFix(s: string | undefined): boolean | QuirkName[] {
  if (s === undefined) return false;
  if (s === 'all') return true;
  const names = s.split(',').map((x) => x.trim()).filter(Boolean);
  for (const n of names) if (!(QUIRK_NAMES as string[]).includes(n)) fail(`--fix: unknown quirk '${n}' (known: ${QUIRK_NAMES.join(', ')}, or all)`);
  return names as QuirkName[];
}
