// `minivl bench` (DESIGN.md: one JSON line, called by outside checks) on the tiny golden checkpoint: the
// fields and their types, fp32 and int8 (converting into a fresh cache), and bad flags as one error line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from '../helpers/cli.ts';
import { GOLDEN, ROOT } from '../helpers/paths.ts';
import { tempDir } from '../helpers/tmp.ts';

const MODEL = `${GOLDEN}/models/qwen2`;

function bench(cache: string, ...args: string[]) {
  return spawnSync(process.execPath, [BIN, 'bench', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, MINIVL_CACHE: cache } });
}

for (const dtype of ['fp32', 'int8'] as const) {
  test(`bench --dtype ${dtype} --json: one JSON line with the DESIGN.md fields`, async () => {
    const cache = await tempDir('bench-cache-');
    const r = bench(cache, '--model', MODEL, '--dtype', dtype, '--prefill', '40', '--context', '24', '--steps', '3', '--threads', '1', '--json');
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stdout);
    const j = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(j.dtype, dtype);
    assert.equal(j.device, 'cpu');
    assert.equal(j.context, 24);
    assert.equal(j.threads, 1);
    for (const k of ['load_s', 'warm_load_s', 'vision_ms_per_tile', 'prefill_tok_s', 'decode_tok_s', 'peak_rss_gib']) {
      assert.ok(typeof j[k] === 'number' && Number.isFinite(j[k]) && (j[k] as number) > 0, `${k}: ${j[k]}`);
    }
    assert.equal(typeof j.machine, 'string');
    // int8 converts once into the cache given by MINIVL_CACHE; fp32 reads the checkpoint in place.
    const entries = (() => { try { return readdirSync(join(cache, 'converted')); } catch { return []; } })();
    assert.equal(entries.length, dtype === 'fp32' ? 0 : 1, entries.join(', '));
    assert.ok(dtype === 'fp32' ? j.convert_s === 0 : (j.convert_s as number) > 0, `convert_s ${j.convert_s}`);
  });
}

test('bench --dtype int4 --prefill-weights int8: says so in the line; both cache entries converted', async () => {
  const cache = await tempDir('bench-cache-');
  const r = bench(cache, '--model', MODEL, '--dtype', 'int4', '--prefill-weights', 'int8', '--prefill', '40', '--context', '24', '--steps', '3', '--threads', '1', '--json');
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(j.dtype, 'int4');
  assert.equal(j.prefill_weights, 'int8');
  assert.equal(readdirSync(join(cache, 'converted')).length, 2);
  const plain = JSON.parse(bench(cache, '--model', MODEL, '--dtype', 'int4', '--prefill', '8', '--context', '8', '--steps', '1', '--threads', '1', '--json').stdout) as Record<string, unknown>;
  assert.equal('prefill_weights' in plain, false);
});

test('bench: bad flags are one error line before any model work', async () => {
  const cache = await tempDir('bench-cache-');
  for (const [args, msg] of [
    [['--model', MODEL, '--dtype', 'int3', '--json'], /--dtype must be one of/],
    [['--model', MODEL, '--prefill', '0', '--json'], /--prefill/],
    [['--model', MODEL, '--prefill-weights', 'int4', '--json'], /--prefill-weights must be int8, got 'int4'/],
    [['--model', MODEL, '--dtype', 'int8', '--prefill-weights', 'int8', '--json'], /prefill weights int8 go with int4 weights on the CPU \(got int8 on cpu\)/],
    [['--model', join(cache, 'missing'), '--json'], /--model/],
  ] as const) {
    const r = bench(cache, ...args);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^minivl: error: [^\n]+\n$/);
    assert.match(r.stderr, msg);
  }
});
