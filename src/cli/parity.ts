import { parseArgs } from 'node:util';
import { fail } from '../errors.ts';
import { runParity } from '../runtime/parity.ts';

const USAGE = 'usage: minivl parity --model DIR --golden FILE --pixel-values FILE';

/** Prints one JSON line; exits 1 when a tolerance of golden/README.md is missed. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      golden: { type: 'string' },
      'pixel-values': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const modelDir = values.model ?? fail(`--model is required (${USAGE})`);
  const goldenFile = values.golden ?? fail(`--golden is required (${USAGE})`);
  const pixelValuesFile = values['pixel-values'] ?? fail(`--pixel-values is required (${USAGE})`);
  const report = await runParity({ modelDir, goldenFile, pixelValuesFile });
  process.stdout.write(`${JSON.stringify(report)}\n`);
  if (!report.ok) process.stderr.write(`minivl: parity: outside tolerance: ${report.failed.join(', ')}\n`);
  return report.ok ? 0 : 1;
}
