// `minivl eval <score|run|merge|report>`: dispatches to one module per subcommand. Thin.
import { fail } from '../errors.ts';

const SUB: Record<string, () => Promise<{ run(argv: string[]): Promise<number> }>> = {
  score: () => import('./eval-score.ts'),
  run: () => import('./eval-run.ts'),
  merge: () => import('./eval-merge.ts'),
  report: () => import('./eval-report.ts'),
};

const HELP = `usage: minivl eval <score|run|merge|report> [options]

  score   score predictions made anywhere with the reference's rules
  run     run a model on benchmarks (resumable, sharded), results in SQLite
  merge   combine shard stores into one
  report  the published-layout table, with the difference from the published numbers

minivl eval <sub> --help shows a subcommand's flags.
`;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub) {
    process.stderr.write(HELP);
    return 2;
  }
  if (sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return 0;
  }
  const load = SUB[sub] ?? fail(`eval: unknown subcommand '${sub}' (available: ${Object.keys(SUB).join(', ')})`);
  return (await load()).run(rest);
}
