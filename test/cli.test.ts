import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ROOT } from './helpers/paths.ts';

test('minivl with an unknown command exits 2 with a usage line', () => {
  const r = spawnSync(process.execPath, ['bin/minivl.mjs', 'frobnicate'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});
