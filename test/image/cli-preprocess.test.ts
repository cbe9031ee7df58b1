import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ROOT, shared } from '../helpers/paths.ts';

const cli = (args: string[]) => spawnSync(process.execPath, ['bin/minivl.mjs', 'preprocess', ...args], { cwd: ROOT, encoding: 'utf8' });

test('minivl preprocess writes [tiles,448,448,3] u8 equal to the golden tiles and prints grid/num_tiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'minivl-pre-'));
  try {
    const out = join(dir, 'tiles.u8');
    const r = cli(['--image', shared('golden/images/tiny_100x50.png'), '--max-num', '6', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { grid: [2, 1], num_tiles: 3 });
    assert.equal(r.stdout, '{"grid":[2,1],"num_tiles":3}\n');
    const golden = gunzipSync(readFileSync(shared('golden/preprocess/tiny_100x50_max6.tiles.u8.gz')));
    assert.ok(readFileSync(out).equals(golden));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
