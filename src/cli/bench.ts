import { runBench } from '../runtime/bench.ts';
import { parseDevice } from '../runtime/device.ts';
import { inputDir, intFlag, parseCommandArgs, printJson, printWarning, required, weightFlags, WEIGHT_OPTIONS, type CommandSpec } from './args.ts';

const CMD: CommandSpec = {
  name: 'bench',
  help: `usage: minivl bench --model DIR [--dtype fp32|fp16|int8|int4] [--prefill-weights int8] [--device cpu|webgpu|auto] [--tiles N] [--prefill N] [--context N] [--steps N] [--threads N] [--disable-prepacking] --json

Measures one model at one precision on synthetic inputs and prints one JSON line: dtype, device,
load_s (first load in this process; includes converting weights when the cache has no entry yet,
see convert_s) and warm_load_s (a second load), vision_ms_per_tile and prefill_tok_s (the faster of
two runs), decode_tok_s (at --context tokens of context), peak_rss_gib, threads, machine. Progress
goes to stderr.

  --model DIR      checkpoint folder
  --dtype P        weight precision (default fp32)
  --prefill-weights int8  with --dtype int4: prefill on an int8 copy of the LLM's linears
                   (the line then has "prefill_weights": "int8")
  --device D       cpu (default) | webgpu | auto; "device" in the line says where it ran
  --tiles N        448×448 tiles per vision call (default 1)
  --prefill N      prefill length in tokens (default 1024)
  --context N      context before the timed decode steps (default 1024)
  --steps N        timed decode steps (default 32)
  --threads N      ONNX Runtime intra-op threads (default: all cores)
  --disable-prepacking  ONNX Runtime session option (faster session creation; MatMulNBits needs prepacking)
  --json           print the JSON line (the only output format)
  -h, --help       this help
`,
};

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(CMD, {
    args: argv,
    options: {
      model: { type: 'string' },
      ...WEIGHT_OPTIONS,
      device: { type: 'string' },
      tiles: { type: 'string' },
      prefill: { type: 'string' },
      context: { type: 'string' },
      steps: { type: 'string' },
      threads: { type: 'string' },
      'disable-prepacking': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (!args) return 0;
  const { values } = args;
  const modelDir = inputDir('--model', required(CMD, '--model', values.model));
  const device = parseDevice(values.device ?? 'cpu');
  const result = await runBench({
    modelDir,
    ...weightFlags(values), // runBench's dtype defaults to fp32
    device,
    tiles: intFlag('--tiles', values.tiles, { min: 1, max: 64 }),
    prefill: intFlag('--prefill', values.prefill, { min: 1 }),
    context: intFlag('--context', values.context, { min: 1 }),
    steps: intFlag('--steps', values.steps, { min: 1 }),
    threads: intFlag('--threads', values.threads, { min: 1 }),
    disablePrepacking: values['disable-prepacking'],
    log: (m) => process.stderr.write(`${m}\n`),
    warn: printWarning,
  });
  printJson(result);
  return 0;
}
