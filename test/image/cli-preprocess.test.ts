import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { minivl, minivlBatch } from '../helpers/cli.ts';
import { shared } from '../helpers/paths.ts';
import { tempDir } from '../helpers/tmp.ts';

const cli = (args: string[]) => minivl('preprocess', ...args);
const IMG = shared('golden/images/tiny_100x50.png');
const golden = () => gunzipSync(readFileSync(shared('golden/preprocess/tiny_100x50_max6.tiles.u8.gz')));

test('minivl preprocess writes [tiles,448,448,3] u8 equal to the golden tiles and prints grid/num_tiles', async () => {
  const dir = await tempDir('minivl-pre-');
  const out = join(dir, 'tiles.u8');
  const r = cli(['--image', IMG, '--max-num', '6', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { grid: [2, 1], num_tiles: 3 });
  assert.equal(r.stdout, '{"grid":[2,1],"num_tiles":3}\n');
  assert.ok(readFileSync(out).equals(golden()));
});

test('minivl preprocess: bad input is one error line and exit 1', () => {
  const r = cli(['--image', '/nonexistent.png', '--max-num', '6', '--out', '/tmp/x.u8']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'minivl: error: cannot read image /nonexistent.png: no such file\n');
  const r2 = cli(['--image', shared('golden/images/tiny_100x50.png'), '--out', '/tmp/x.u8']);
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /^minivl: error: --max-num is required/);
  assert.equal(r2.stderr.trim().split('\n').length, 1);
});

test('minivl preprocess: numbers, images and output paths are checked with one line naming the flag or file', async () => {
  const dir = await tempDir('minivl-pre-');
  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'not an image');
  const out = join(dir, 'o.u8');
  const run = (...a: string[]) => ['preprocess', ...a];
  const rs = minivlBatch([
    run('--image', IMG, '--max-num', '0', '--out', out),
    run('--image', IMG, '--max-num', 'abc', '--out', out),
    run('--image', IMG, '--max-num', '1000', '--out', out),
    run('--image', IMG, '--max-num', '6', '--min-num', '7', '--out', out),
    run('--image', IMG, '--max-num', '6', '--out', join(dir, 'no', 'o.u8')),
    run('--image', IMG, '--max-num', '6', '--out', dir),
    run('--image', text, '--max-num', '6', '--out', out),
    run('--image', '/dev/zero', '--max-num', '6', '--out', out),
    run('--image', dir, '--max-num', '6', '--out', out),
  ]);
  assert.deepEqual(rs.map((r) => [r.status, r.stdout]), rs.map(() => [1, '']));
  assert.deepEqual(rs.map((r) => r.stderr), [
    "--max-num must be an integer from 1 to 100, got '0'",
    "--max-num must be an integer from 1 to 100, got 'abc'",
    "--max-num must be an integer from 1 to 100, got '1000'",
    "--min-num must be an integer from 1 to 6, got '7'",
    `--out ${join(dir, 'no', 'o.u8')}: folder ${join(dir, 'no')} does not exist`,
    `--out ${dir}: is a folder, expected a file name`,
    `cannot decode image ${text}: not a supported image (JPEG, PNG, WebP, GIF, ...)`,
    'cannot read image /dev/zero: not a regular file',
    `cannot read image ${dir}: is a directory`,
  ].map((m) => `minivl: error: ${m}\n`));
  assert.deepEqual(readdirSync(dir), ['notes.txt']); // nothing written, no temporary file left
});

test('minivl preprocess replaces an existing --out whole, and a failed run leaves it untouched', async () => {
  const dir = await tempDir('minivl-pre-');
  const out = join(dir, 'tiles.u8');
  writeFileSync(out, 'x'.repeat(10_000_000)); // longer than the result
  const [ok, bad] = minivlBatch([
    ['preprocess', '--image', IMG, '--max-num', '6', '--out', out],
    ['preprocess', '--image', join(dir, 'tiles.u8'), '--max-num', '6', '--out', out],
  ]);
  assert.equal(ok!.status, 0, ok!.stderr);
  assert.equal(bad!.status, 1);
  assert.match(bad!.stderr, /^minivl: error: cannot decode image .*tiles\.u8: /);
  assert.ok(readFileSync(out).equals(golden()));
  assert.deepEqual(readdirSync(dir), ['tiles.u8']);
});
