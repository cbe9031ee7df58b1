import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { errnoCode, fail, MinivlError } from '../errors.ts';

/**
 * Writes a file atomically: `write` fills a temporary file in the same folder, which is fsynced and then
 * renamed over `path`, so neither a failure nor a crash leaves a partial file under the final name (an
 * existing file stays as it was until the rename). Errors are one line naming `path`; MinivlErrors
 * thrown by `write` (e.g. an abort) pass through unchanged after the temporary file is removed.
 */
export async function writeFileAtomic(path: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  const tmp = join(dirname(resolve(path)), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fh: FileHandle;
  try {
    fh = await open(tmp, 'wx');
  } catch (e) {
    fail(`${path}: cannot write (${errnoCode(e)})`);
  }
  try {
    try {
      await write(fh);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    if (e instanceof MinivlError) throw e;
    fail(`${path}: cannot write (${errnoCode(e)})`);
  }
}

/**
 * Writes all of `b` at `position` (default: the file's current position). FileHandle.write may write
 * less than asked, and at most 2 GiB at once.
 */
export async function writeFully(fh: FileHandle, b: Uint8Array, position?: number): Promise<void> {
  let done = 0;
  while (done < b.byteLength) {
    const n = Math.min(b.byteLength - done, 0x40000000);
    const { bytesWritten } = await fh.write(b, done, n, position === undefined ? null : position + done);
    done += bytesWritten;
  }
}

/** A whole text file (UTF-8), written atomically. */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, (fh) => writeFully(fh, Buffer.from(text, 'utf8')));
}

/** A JSON file (2-space indent, final newline), written atomically. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeTextAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
