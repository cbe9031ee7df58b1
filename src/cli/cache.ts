import { fail } from '../errors.ts';
import { defaultWeightCacheRoot, listWeightCache, removeWeightCache } from '../runtime/weight-cache.ts';
import { parseCommandArgs, printJson, type CommandSpec } from './args.ts';

const CMD: CommandSpec = {
  name: 'cache',
  help: `usage: minivl cache ls [--json] | minivl cache rm KEY... | minivl cache rm --all

The converted-weight cache (fp16/int8/int4 weights made from a checkpoint on its first load at that
precision; in $MINIVL_CACHE/converted, default ~/.cache/minivl/converted).

  ls            one line per entry: key, precision, size, created, checkpoint folder ("broken" for an
                entry without a readable manifest, e.g. an interrupted conversion)
  rm KEY...     removes the named entries (a later load converts again)
  --all         with rm: removes every entry
  --json        with ls: one JSON array instead of the table
  -h, --help    this help
`,
};

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(CMD, {
    args: argv,
    allowPositionals: true,
    options: {
      all: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (!args) return 0;
  const [sub, ...keys] = args.positionals;
  const root = defaultWeightCacheRoot();
  if (sub === 'ls') {
    if (keys.length > 0 || args.values.all) fail(`cache ls takes no arguments (${CMD.help.split('\n')[0]})`);
    const entries = await listWeightCache(root);
    if (args.values.json) {
      printJson(entries.map((e) => ({ key: e.key, dir: e.dir, bytes: e.bytes, precision: e.manifest?.precision ?? null, checkpoint: e.manifest?.checkpoint ?? null, created: e.manifest?.created ?? null, minivl: e.manifest?.minivl ?? null })));
      return 0;
    }
    if (entries.length === 0) process.stdout.write(`no converted weights in ${root}\n`);
    for (const e of entries) {
      const m = e.manifest;
      const gib = (e.bytes / 2 ** 30).toFixed(2);
      process.stdout.write(m ? `${e.key}\t${m.precision}\t${gib} GiB\t${m.created}\t${m.checkpoint}\n` : `${e.key}\tbroken\t${gib} GiB\n`);
    }
    return 0;
  }
  if (sub === 'rm') {
    if (args.values.all === keys.length > 0) fail(`cache rm needs entry keys or --all, not both (${CMD.help.split('\n')[0]})`);
    const removed = await removeWeightCache(root, args.values.all ? 'all' : keys);
    process.stderr.write(`minivl: removed ${removed.length} cache entr${removed.length === 1 ? 'y' : 'ies'} from ${root}\n`);
    return 0;
  }
  fail(sub === undefined ? `cache needs a subcommand: ls or rm (${CMD.help.split('\n')[0]})` : `cache: unknown subcommand '${sub}' (expected ls or rm)`);
}
