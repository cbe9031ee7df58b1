import { MinivlError } from '../errors.ts';

/** Each command lives in its own module exporting `run(argv): Promise<number>`; loaded on demand. */
const COMMANDS: Record<string, { describe: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  parity: { describe: 'compare the float32 forward with a golden file', load: () => import('./parity.ts') },
  tokenize: { describe: 'tokenize texts with a checkpoint tokenizer', load: () => import('./tokenize.ts') },
  preprocess: { describe: 'tile and resize an image as the reference does', load: () => import('./preprocess.ts') },
  chat: { describe: 'chat with a model about images', load: () => import('./chat.ts') },
  serve: { describe: 'OpenAI-compatible HTTP server with a web page', load: () => import('./serve.ts') },
  bench: { describe: 'measure load, vision, prefill and decode speed (one JSON line)', load: () => import('./bench.ts') },
  cache: { describe: 'list or remove converted-weight cache entries (ls | rm)', load: () => import('./cache.ts') },
  eval: { describe: 'benchmark evaluation (score | run | merge | report)', load: () => import('./eval.ts') },
  adapt: { describe: 'domain data (convert | check | preview | mix | sample)', load: () => import('./adapt.ts') },
  finetune: { describe: 'LoRA / projector / full fine-tuning', load: () => import('./finetune.ts') },
  dev: { describe: 'developer tools (random-checkpoint)', load: () => import('./dev.ts') },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)}${c.describe}`);
  return `usage: minivl <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nminivl <command> --help shows a command's flags.\n`;
}

export async function main(argv: string[]): Promise<number> {
  let [name, ...rest] = argv;
  if (!name) {
    process.stderr.write(usage());
    return 2;
  }
  if (name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    process.stdout.write(usage());
    return 0;
  }
  if (name === 'help') [name, rest] = [rest[0]!, ['--help']]; // `minivl help chat` = `minivl chat --help`
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`minivl: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  try {
    const mod = await cmd.load();
    return await mod.run(rest);
  } catch (e) {
    return reportError(e);
  }
}

/** One line for errors the user can act on; argument errors from util.parseArgs are user errors too. */
export function reportError(e: unknown): number {
  const err = e as Error & { code?: string };
  if (e instanceof MinivlError || (err && typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS'))) {
    process.stderr.write(`minivl: error: ${err.message.split('\n')[0]}\n`);
    return 1;
  }
  if (process.env.MINIVL_DEBUG) process.stderr.write(`${err?.stack ?? String(e)}\n`);
  process.stderr.write(`minivl: internal error: ${(err?.message ?? String(e)).split('\n')[0]} (set MINIVL_DEBUG=1 for the stack)\n`);
  return 1;
}
