// Temp folders for tests that write files (corrupt checkpoints, CLI outputs...): never write into shared/.
// Also the one-line MinivlError assertion every area uses.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A fresh temp folder, removed when the test file finishes. */
export async function tempDir(prefix = 'minivl-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Asserts `p` rejects with a one-line MinivlError whose message matches every pattern. */
export async function rejectsWith(p: Promise<unknown> | (() => unknown), ...patterns: RegExp[]): Promise<string> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  if (!(err instanceof Error)) throw new Error(`expected an error matching ${patterns.join(', ')}, got none`);
  if (err.name !== 'MinivlError') throw new Error(`expected a MinivlError, got ${err.name}: ${err.message}`);
  if (err.message.includes('\n')) throw new Error(`error message is not one line: ${JSON.stringify(err.message)}`);
  for (const re of patterns) {
    if (!re.test(err.message)) throw new Error(`error message ${JSON.stringify(err.message)} does not match ${re}`);
  }
  return err.message;
}
