// `minivl dev <tool>`: developer tools. Thin: parse flags, call the library.
import { parseArgs } from 'node:util';
import { fail } from '../errors.ts';
import { LIKE, writeRandomCheckpoint } from '../dev/random-checkpoint.ts';

const USAGE = `usage: minivl dev random-checkpoint --like NAME [--tiny] [--seed N] --out DIR

  Writes a checkpoint folder in the released format with small random bf16 weights and the real
  tokenizer files. NAME: ${Object.keys(LIKE).join(' | ')}.
  --tiny    shrink to the golden tiny dims (ViT/LLM 2 layers, hidden 64) keeping the real vocab
  --seed N  value seed (default 0); the same seed gives the same files
  --out DIR must not exist or be empty
`;

export async function run(argv: string[]): Promise<number> {
  const [tool, ...rest] = argv;
  if (!tool || tool === '--help' || tool === '-h') {
    process.stdout.write(USAGE);
    return tool ? 0 : 2;
  }
  if (tool !== 'random-checkpoint') fail(`dev: unknown tool '${tool}' (available: random-checkpoint)`);
  const { values } = parseArgs({
    args: rest,
    options: {
      like: { type: 'string' },
      tiny: { type: 'boolean', default: false },
      seed: { type: 'string', default: '0' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.like) fail('dev random-checkpoint: --like is required (e.g. --like internvl2-1b)');
  if (!values.out) fail('dev random-checkpoint: --out DIR is required');
  if (!/^\d+$/.test(values.seed!)) fail(`dev random-checkpoint: --seed must be a non-negative integer, got '${values.seed}'`);
  // Ctrl-C stops between chunks so the library can remove its temporary folder.
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  let r;
  try {
    r = await writeRandomCheckpoint({
      like: values.like,
      tiny: values.tiny,
      seed: Number(values.seed),
      out: values.out,
      log: process.stderr,
      signal: ac.signal,
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  process.stdout.write(`${JSON.stringify({ out: r.dir, files: r.files, tensors: r.tensors, params: r.params, tensor_bytes: r.tensorBytes })}\n`);
  return 0;
}
