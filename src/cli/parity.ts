import { runParity } from '../runtime/parity.ts';
import { parsePrecision } from '../runtime/precision.ts';
import { parseDevice } from '../runtime/device.ts';
import { runLoraParity, withLoraParity } from '../runtime/lora-parity.ts';
import { inputDir, inputFile, parseCommandArgs, printJson, printWarning, required, type CommandSpec } from './args.ts';

const CMD: CommandSpec = {
  name: 'parity',
  help: `usage: minivl parity --model DIR --golden FILE --pixel-values FILE [--dtype P] [--device D] [--lora-golden FILE]

Runs the float32 forward of a checkpoint on the golden inputs and prints one JSON line with
vit_embeds_rel_l2, logits_rel_l2, text_logits_rel_l2, argmax_agreement, greedy_match and
loss_abs_err (plus diagnostics). Exits 1 when a tolerance of golden/README.md is missed.

  --model DIR           checkpoint folder (config.json + safetensors)
  --golden FILE         golden.safetensors of the reference; meta.json beside it holds the special ids
  --pixel-values FILE   safetensors with 'pixel_values' [tiles, 3, 448, 448] (the golden's model input)
  --dtype P             fp32 (default) | fp16 | int8 | int4: run that weight precision; adds "vs_fp32"
                        (logits rel-L2, top-1 agreement where the fp32 top-2 margin > 1e-2, greedy
                        tokens) and checks the precision's targets instead of the float32 tolerances
  --device D            cpu (default) | webgpu | auto: run on that ONNX Runtime provider, with the same
                        tolerances ("device" in the line says where it ran; no adapter = CPU, warned)
  --lora-golden FILE    also run the training graph on lora_golden.safetensors (LoRA + projector
                        trained) and add lora_loss_abs_err and lora_grad_max_rel_l2
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
      dtype: { type: 'string' },
      device: { type: 'string' },
      'lora-golden': { type: 'string' },
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
  const loraGoldenFile = values['lora-golden'];
  if (loraGoldenFile !== undefined) inputFile('--lora-golden', loraGoldenFile);
  const dtype = parsePrecision(values.dtype ?? 'fp32');
  const device = parseDevice(values.device ?? 'cpu');
  const base = await runParity({ modelDir, goldenFile, pixelValuesFile, dtype, device, warn: printWarning });
  const report = loraGoldenFile === undefined ? base : withLoraParity(base, await runLoraParity({ modelDir, loraGoldenFile, pixelValuesFile }));
  printJson(report);
  if (!report.ok) process.stderr.write(`minivl: parity: outside tolerance: ${report.failed.join(', ')}\n`);
  return report.ok ? 0 : 1;
}
