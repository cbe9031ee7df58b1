import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../../src/errors.ts';
import { writeFileAtomic, writeFully } from '../../src/io/atomic-write.ts';
import { rejectsWith, tempDir } from '../helpers/tmp.ts';

test('writeFileAtomic replaces the file only when the whole write succeeded', async () => {
  const dir = await tempDir();
  const path = join(dir, 'out.bin');
  writeFileSync(path, 'old contents');
  // A write that fails half-way (a MinivlError passes through; any other error is reported naming the file).
  await rejectsWith(writeFileAtomic(path, async (fh) => {
    await writeFully(fh, Buffer.from('new'));
    fail('stopped half-way');
  }), /^stopped half-way$/);
  await rejectsWith(writeFileAtomic(path, async (fh) => {
    await writeFully(fh, Buffer.from('new'));
    throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
  }), /out\.bin: cannot write \(ENOSPC\)$/);
  assert.equal(readFileSync(path, 'utf8'), 'old contents');
  assert.deepEqual(readdirSync(dir), ['out.bin']); // the temporary files are gone
  await writeFileAtomic(path, (fh) => writeFully(fh, Buffer.from('new contents')));
  assert.equal(readFileSync(path, 'utf8'), 'new contents');
  assert.deepEqual(readdirSync(dir), ['out.bin']);
  await rejectsWith(writeFileAtomic(join(dir, 'no', 'x.bin'), async () => {}), /x\.bin: cannot write \(ENOENT\)/);
});
