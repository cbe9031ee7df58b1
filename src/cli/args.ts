// What every `minivl <cmd>` shares: flag parsing with one-line errors, --help, required flags, number
// flags, the weight flags, and fail-fast checks of file arguments (before any slow work, naming the flag and the path).
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { errnoCode, fail } from '../errors.ts';
import { parsePrecision, parsePrefillWeights, type Precision, type PrefillWeights } from '../runtime/precision.ts';

/** A command's name as typed after `minivl` and its --help text (first line: the usage line). */
export interface CommandSpec {
  name: string;
  help: string;
}

/**
 * `util.parseArgs` (strict) with the command's conventions: `--help`/`-h` prints the help and yields
 * null (the command returns 0); parse errors become one-line MinivlErrors that name the command,
 * since Node's own messages span several lines or suggest things that do not apply.
 */
export function parseCommandArgs<T extends ParseArgsConfig>(cmd: CommandSpec, config: T): ReturnType<typeof parseArgs<T>> | null {
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(config); // strict, no positionals unless the config allows them
  } catch (e) {
    const err = e as Error & { code?: string };
    if (!err.code?.startsWith('ERR_PARSE_ARGS')) throw e;
    fail(describeParseError(cmd.name, err));
  }
  if ((parsed.values as { help?: unknown }).help) {
    process.stdout.write(cmd.help.endsWith('\n') ? cmd.help : `${cmd.help}\n`);
    return null;
  }
  return parsed;
}

function describeParseError(name: string, err: Error & { code?: string }): string {
  const quoted = /'([^']*)'/.exec(err.message)?.[1] ?? '';
  // Node quotes "'--x <value>'" or "'-x, --x'": keep the long flag.
  const words = quoted.split(/[\s,]+/);
  const flag = words.find((w) => w.startsWith('--')) ?? words[0];
  const seeHelp = `see minivl ${name} --help`;
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `${name}: unknown option '${flag}' (${seeHelp})`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `${name}: unexpected argument '${quoted}'; this command takes only flags (${seeHelp})`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(err.message)) return `${name}: ${flag} takes no value (${seeHelp})`;
      if (/ambiguous/.test(err.message)) return `${name}: ${flag} needs a value (write a value that starts with '-' as ${flag}=-N)`;
      return `${name}: ${flag} needs a value (${seeHelp})`;
    default:
      return `${name}: ${err.message.split('\n')[0]}`;
  }
}

/** The value of a required flag, or a one-line error with the usage line. */
export function required<V>(cmd: CommandSpec, flag: string, value: V | undefined): V {
  if (value === undefined || value === '') fail(`${flag} is required (${cmd.help.split('\n')[0]})`);
  return value;
}

/** An integer flag in [min, max]; undefined when not given. */
export function intFlag(flag: string, s: string | undefined, range: { min: number; max?: number }): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  const inRange = /^\s*\d+\s*$/.test(s) && Number.isSafeInteger(n) && n >= range.min && (range.max === undefined || n <= range.max);
  if (!inRange) {
    const want = range.max === undefined ? `an integer ≥ ${range.min}` : `an integer from ${range.min} to ${range.max}`;
    fail(`${flag} must be ${want}, got '${s}'`);
  }
  return n;
}

/** The weight flags of chat, serve and bench (eval run takes --dtype only), for their OPTIONS. */
export const WEIGHT_OPTIONS = { dtype: { type: 'string' }, 'prefill-weights': { type: 'string' } } as const;

/** --dtype and --prefill-weights parsed; undefined where not given. */
export function weightFlags(v: { dtype?: string; 'prefill-weights'?: string }): { dtype?: Precision; prefillWeights?: PrefillWeights } {
  return {
    dtype: v.dtype === undefined ? undefined : parsePrecision(v.dtype),
    prefillWeights: v['prefill-weights'] === undefined ? undefined : parsePrefillWeights(v['prefill-weights']),
  };
}

/** A finite number flag; undefined when not given (ranges are the library's to check). */
export function numFlag(flag: string, s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n)) fail(`${flag} must be a number, got '${s}'`);
  return n;
}

function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    fail(`${path}: cannot access (${errnoCode(e)})`);
  }
}

/** An existing regular file (or a device/pipe such as /dev/stdin), checked before any slow work. */
export function inputFile(flag: string, path: string): string {
  const st = statOrNull(path);
  if (!st) fail(`${flag} ${path}: no such file`);
  if (st.isDirectory()) fail(`${flag} ${path}: is a folder, expected a file`);
  return path;
}

/** An existing folder. */
export function inputDir(flag: string, path: string): string {
  const st = statOrNull(path);
  if (!st) fail(`${flag} ${path}: no such folder`);
  if (!st.isDirectory()) fail(`${flag} ${path}: is a file, expected a folder`);
  return path;
}

/** A file the command will write (replacing it if it exists): its folder must exist, it must not be a folder. */
export function outputFile(flag: string, path: string): string {
  const st = statOrNull(path);
  if (st?.isDirectory()) fail(`${flag} ${path}: is a folder, expected a file name`);
  const dir = dirname(resolve(path));
  const parent = statOrNull(dir);
  if (!parent) fail(`${flag} ${path}: folder ${dir} does not exist`);
  if (!parent.isDirectory()) fail(`${flag} ${path}: ${dir} is not a folder`);
  return path;
}

/** Prints one JSON line on stdout (the machine-readable result of a command). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** A library warning (the `warn` callback of load/parity/bench) as the CLI shows it: one line on stderr. */
export function printWarning(message: string): void {
  process.stderr.write(`minivl: warning: ${message}\n`);
}
