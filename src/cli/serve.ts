// `minivl serve`: thin CLI over src/serve/server.ts — flags → options, listen, stop gracefully on SIGTERM/SIGINT.
import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { fail } from '../errors.ts';
import { MiniVL } from '../minivl.ts';
import { createServer } from '../serve/server.ts';
import { inputDir, intFlag, parseCommandArgs, printWarning, required, weightFlags, WEIGHT_OPTIONS, type CommandSpec } from './args.ts';

const CMD: CommandSpec = {
  name: 'serve',
  help: `usage: minivl serve --model DIR|ORG/NAME [--host H] [--port P] [options]

OpenAI-compatible server: POST /v1/chat/completions (JSON or SSE), GET /v1/models, /health, /metrics,
and a web page at /. Decoding is batched across requests.

  --model DIR|ORG/NAME      checkpoint folder or Hugging Face id
  --host H                  address to listen on (default 127.0.0.1)
  --port P                  port (default 8000; 0 = any free port)
  --model-name NAME         the id clients pass as "model" (default: the folder's name)
  --dtype P                 weight precision: fp32 (default), fp16, int8 or int4
  --prefill-weights int8    with --dtype int4: prompts prefill on an int8 copy of the LLM's linears
  --api-key KEY             require "Authorization: Bearer KEY" on /v1/* (default: $MINIVL_API_KEY, else none)
  --max-concurrency N       sequences decoded together in one batch (default 8)
  --max-queue N             requests waiting for a slot before 429 (default 32)
  --max-num N               tiles per image for detail high/auto (default 12; detail low = 1)
  --allow-dir DIR           allow file: image URLs under DIR
  --allow-remote-images     allow http(s) image URLs (public addresses only)
  --max-image-bytes N       largest image accepted (default 20971520)
  --vision-cache-mb N       vision-embedding cache size (default 512)
  --prefix-cache-mb N       KV prefix cache size (default 1024; 0 = off)
  --prefill-chunk N         prompt positions per prefill call between decode steps (default 512)
  --grace-s N               on SIGTERM, seconds running requests may finish (default 10)
  --threads N               ONNX Runtime threads
  --lora DIR                apply a LoRA adapter folder (minivl finetune's OUT/adapter) unmerged at load
  -h, --help                this help
`,
};

const OPTIONS = {
  model: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'model-name': { type: 'string' },
  ...WEIGHT_OPTIONS,
  'api-key': { type: 'string' },
  'max-concurrency': { type: 'string' },
  'max-queue': { type: 'string' },
  'max-num': { type: 'string' },
  'allow-dir': { type: 'string' },
  'allow-remote-images': { type: 'boolean' },
  'max-image-bytes': { type: 'string' },
  'vision-cache-mb': { type: 'string' },
  'prefix-cache-mb': { type: 'string' },
  'prefill-chunk': { type: 'string' },
  'grace-s': { type: 'string' },
  threads: { type: 'string' },
  lora: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(CMD, { args: argv, options: OPTIONS });
  if (!args) return 0;
  const v = args.values;
  const model = required(CMD, '--model', v.model);
  const { dtype, prefillWeights } = weightFlags(v);
  const port = intFlag('--port', v.port, { min: 0, max: 65535 }) ?? 8000;
  const allowDir = v['allow-dir'] === undefined ? null : realpathSync(inputDir('--allow-dir', v['allow-dir']));
  const mb = (flag: string, s: string | undefined, dflt: number) => (intFlag(flag, s, { min: 0 }) ?? dflt) * 1024 * 1024;
  const graceMs = (intFlag('--grace-s', v['grace-s'], { min: 0 }) ?? 10) * 1000;

  if (v.lora !== undefined) inputDir('--lora', v.lora);
  const threads = intFlag('--threads', v.threads, { min: 1 });
  // Every flag is checked before the (slow) model load.
  const options = {
    apiKey: v['api-key'] ?? process.env.MINIVL_API_KEY ?? null,
    maxConcurrency: intFlag('--max-concurrency', v['max-concurrency'], { min: 1, max: 256 }),
    maxQueue: intFlag('--max-queue', v['max-queue'], { min: 0 }),
    defaultMaxNum: intFlag('--max-num', v['max-num'], { min: 1, max: 40 }),
    images: { allowDir, allowRemote: v['allow-remote-images'] ?? false, maxBytes: intFlag('--max-image-bytes', v['max-image-bytes'], { min: 1 }) },
    visionCacheBytes: mb('--vision-cache-mb', v['vision-cache-mb'], 512),
    prefixCacheBytes: mb('--prefix-cache-mb', v['prefix-cache-mb'], 1024),
    prefillChunk: intFlag('--prefill-chunk', v['prefill-chunk'], { min: 1 }),
  };
  const vl = await MiniVL.load(model, { dtype, prefillWeights, lora: v.lora, threads, warn: printWarning, log: (m) => process.stderr.write(`${m}\n`) });
  const server = createServer(vl, { modelName: v['model-name'] ?? basename(vl.dir), ...options });
  const host = v.host ?? '127.0.0.1';
  const url = await server.listen(host, port).catch(async (e: NodeJS.ErrnoException) => {
    await server.close(0);
    await vl.release();
    return fail(`cannot listen on ${host}:${port} (${e.code ?? e.message})`);
  });
  process.stderr.write(`minivl: serving ${basename(vl.dir)} at ${url} (web page at ${url}/)\n`);

  // SIGTERM / Ctrl-C: stop accepting, give running requests the grace period, exit 0.
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      process.stderr.write(`minivl: ${sig}: finishing ${server.scheduler.active} running request(s) (grace ${graceMs / 1000} s)\n`);
      server.close(graceMs).then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await vl.release();
  process.stderr.write('minivl: server stopped\n');
  return 0;
}
