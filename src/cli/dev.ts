// `minivl dev <tool>`: developer tools. Thin: parse flags, call the library.
import { fail } from '../errors.ts';
import { LIKE, writeRandomCheckpoint } from '../dev/random-checkpoint.ts';
import { intFlag, parseCommandArgs, printJson, required, type CommandSpec } from './args.ts';

const CMD: CommandSpec = {
  name: 'dev random-checkpoint',
  help: `usage: minivl dev random-checkpoint --like NAME [--tiny] [--seed N] [--tokenizer DIR] --out DIR

  Writes a checkpoint folder in the released format with small random bf16 weights and tokenizer
  files. NAME: ${Object.keys(LIKE).join(' | ')}.
  --tiny    shrink to the golden tiny dims (ViT/LLM 2 layers, hidden 64) keeping the real vocab size
  --seed N  value seed (default 0); the same seed gives the same files
  --tokenizer DIR  copy the tokenizer files of DIR (e.g. a released checkpoint); default: a generated
            byte-level BPE tokenizer in the released Qwen2 layout with InternVL's special tokens
  --out DIR must not exist or be empty
  -h, --help this help
`,
};

export async function run(argv: string[]): Promise<number> {
  const [tool, ...rest] = argv;
  if (!tool) {
    process.stderr.write(CMD.help); // a usage error: the help goes to stderr
    return 2;
  }
  if (tool === '--help' || tool === '-h') {
    process.stdout.write(CMD.help);
    return 0;
  }
  if (tool !== 'random-checkpoint') fail(`dev: unknown tool '${tool}' (available: random-checkpoint)`);
  const args = parseCommandArgs(CMD, {
    args: rest,
    options: {
      like: { type: 'string' },
      tiny: { type: 'boolean', default: false },
      seed: { type: 'string', default: '0' },
      out: { type: 'string' },
      tokenizer: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (!args) return 0;
  const { values } = args;
  const like = required(CMD, '--like', values.like);
  const out = required(CMD, '--out', values.out);
  const seed = intFlag('--seed', values.seed, { min: 0 })!;
  // Ctrl-C stops between chunks so the library can remove its temporary folder.
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  let r;
  try {
    r = await writeRandomCheckpoint({
      like,
      tiny: values.tiny,
      seed,
      out,
      tokenizerDir: values.tokenizer,
      log: process.stderr,
      signal: ac.signal,
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  printJson({ out: r.dir, files: r.files, tensors: r.tensors, params: r.params, tensor_bytes: r.tensorBytes });
  return 0;
}
