import { runParity } from '../runtime/parity.ts';
import { inputDir, inputFile, parseCommandArgs, printJson, required, type CommandSpec } from './args.ts';

const CMD: CommandSpec = {
  name: 'parity',
  help: `usage: minivl parity --model DIR --golden FILE --pixel-values FILE

Runs the float32 forward of a checkpoint on the golden inputs and prints one JSON line with
vit_embeds_rel_l2, logits_rel_l2, text_logits_rel_l2, argmax_agreement, greedy_match and
loss_abs_err (plus diagnostics). Exits 1 when a tolerance of golden/README.md is missed.

  --model DIR           checkpoint folder (config.json + safetensors)
  --golden FILE         golden.safetensors of the reference; meta.json beside it holds the special ids
  --pixel-values FILE   safetensors with 'pixel_values' [tiles, 3, 448, 448] (the golden's model input)
  -h, --help            this help
`,
};

/** Prints one JSON line; exits 1 when a tolerance of golden/README.md is missed. */
export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(CMD, {
    args: argv,
    options: {
      model: { type: 'string' },
      golden: { type: 'string' },
      'pixel-values': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (!args) return 0;
  const { values } = args;
  const modelDir = required(CMD, '--model', values.model);
  const goldenFile = required(CMD, '--golden', values.golden);
  const pixelValuesFile = required(CMD, '--pixel-values', values['pixel-values']);
  // Fail fast, naming the flag: the library would otherwise report a derived path (DIR/config.json, meta.json).
  inputDir('--model', modelDir);
  inputFile('--golden', goldenFile);
  inputFile('--pixel-values', pixelValuesFile);
  const report = await runParity({ modelDir, goldenFile, pixelValuesFile });
  printJson(report);
  if (!report.ok) process.stderr.write(`minivl: parity: outside tolerance: ${report.failed.join(', ')}\n`);
  return report.ok ? 0 : 1;
}
