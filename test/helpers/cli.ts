// Runs the real CLI from src/ (through tsx, as scripts/minivl-src.mjs does; the built bin/minivl.mjs is
// tested by test/package.test.ts): `minivl()` spawns it once per call; `minivlBatch()`
// runs many argument lists through src/cli/main.ts in ONE child process (test/helpers/cli-batch.ts), so
// a test of dozens of error cases costs one Node start instead of dozens.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './paths.ts';

export const BIN = join(ROOT, 'scripts', 'minivl-src.mjs');

/** `minivl ...args` to completion; stdout/stderr as text, `status` the exit code. */
export function minivl(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8' });
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs each argument list through the CLI's main() in one child process, in order. */
export function minivlBatch(cases: string[][]): CliResult[] {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'helpers', 'cli-batch.ts')], {
    cwd: ROOT,
    encoding: 'utf8',
    input: JSON.stringify(cases),
  });
  if (r.status !== 0) throw new Error(`cli-batch failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as CliResult[];
}
