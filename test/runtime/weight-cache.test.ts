// The converted-weight cache: a second load reuses the entry (no conversion, same outputs); stale,
// corrupt, truncated and half-written entries are detected and rebuilt, never used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, open, readFile, stat, utimes, writeFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Model } from '../../src/runtime/model.ts';
import { MANIFEST_FILE } from '../../src/runtime/weight-cache.ts';
import { WEIGHTS_FILE } from '../../src/runtime/converted-weights.ts';
import type { Precision } from '../../src/runtime/precision.ts';
import { GOLDEN } from '../helpers/paths.ts';
import { tempDir } from '../helpers/tmp.ts';
import { minivl } from '../helpers/cli.ts';

const IDS = [1, 5, 9, 77, 300, 12];

/** A private copy of the tiny Qwen2 golden model (its mtime is ours to change). */
async function modelCopy(): Promise<string> {
  const dir = join(await tempDir(), 'qwen2');
  await mkdir(dir);
  for (const f of ['config.json', 'model.safetensors']) await copyFile(join(GOLDEN, 'models/qwen2', f), join(dir, f));
  return dir;
}

async function loadAndRun(dir: string, root: string, dtype: Precision) {
  const m = await Model.load(dir, { dtype, weightCacheRoot: root });
  try {
    const r = await m.forward({ embeds: await m.embed(IDS), logitsPositions: IDS.map((_, i) => i) });
    const pv = new Float32Array(3 * 448 * 448).map((_, i) => Math.sin(i));
    const v = await m.encodeImages(pv, 1);
    return { cache: m.weightCache!, logits: r.logits, vit: v.vitEmbeds };
  } finally {
    await m.release();
  }
}

for (const dtype of ['int8', 'int4', 'fp16'] as const) {
  test(`${dtype}: second load reuses the cache entry; corrupt, truncated and stale entries are rebuilt`, async () => {
    const dir = await modelCopy();
    const root = join(await tempDir(), 'converted');
    const first = await loadAndRun(dir, root, dtype);
    assert.equal(first.cache.built, true);
    assert.equal(first.cache.reason, 'missing');
    const weights = join(first.cache.dir, WEIGHTS_FILE);
    const before = await stat(weights);
    // A quantized weight is stored once, in one form only (no float copy or second form beside it).
    const manifest = JSON.parse(await readFile(join(first.cache.dir, MANIFEST_FILE), 'utf8')) as { entries: { kind: string; name: string }[] };
    const isQuant = (k: string) => k === 'quant' || k === 'qchannels';
    const quant = manifest.entries.filter((e) => isQuant(e.kind)).map((e) => e.name);
    assert.equal(quant.length > 0, dtype !== 'fp16');
    assert.equal(new Set(quant).size, quant.length);
    assert.deepEqual(manifest.entries.filter((e) => !isQuant(e.kind) && quant.includes(e.name)).map((e) => e.name), []);
    // Both forms in use where the default policy mixes them (int8: LLM channels where a norm feeds them + blocks; int4: vision channels + LLM blocks).
    if (dtype !== 'fp16') assert.deepEqual([...new Set(manifest.entries.filter((e) => isQuant(e.kind)).map((e) => e.kind))].sort(), ['qchannels', 'quant']);

    const second = await loadAndRun(dir, root, dtype);
    assert.equal(second.cache.built, false, 'second load converted again');
    assert.equal(second.cache.dir, first.cache.dir);
    const after = await stat(weights);
    assert.equal(after.ino, before.ino, 'weights file rewritten');
    assert.equal(after.mtimeMs, before.mtimeMs);
    assert.deepEqual(second.logits, first.logits);
    assert.deepEqual(second.vit, first.vit);

    // One flipped byte in the middle of the weights: detected by the hash, rebuilt, same outputs.
    const fh = await open(weights, 'r+');
    const mid = Math.floor(after.size / 2);
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, mid);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, mid);
    await fh.close();
    const flipped = await loadAndRun(dir, root, dtype);
    assert.equal(flipped.cache.built, true);
    assert.match(flipped.cache.reason!, /^corrupt: .*hash/);
    assert.deepEqual(flipped.logits, first.logits);
    assert.deepEqual(flipped.vit, first.vit);

    // Truncated weights file.
    const t = await open(weights, 'r+');
    await t.truncate(100);
    await t.close();
    const truncated = await loadAndRun(dir, root, dtype);
    assert.match(truncated.cache.reason!, /^corrupt: .*100 bytes/);
    assert.deepEqual(truncated.logits, first.logits);

    // A manifest that is not JSON (e.g. a crash of an older writer).
    await writeFile(join(first.cache.dir, MANIFEST_FILE), '{"format": 1, "min');
    const garbled = await loadAndRun(dir, root, dtype);
    assert.match(garbled.cache.reason!, /^corrupt: unreadable manifest/);

    // The checkpoint changed (new mtime): the entry is stale and rebuilt in the same folder.
    const future = new Date(Date.now() + 60_000);
    await utimes(join(dir, 'model.safetensors'), future, future);
    const stale = await loadAndRun(dir, root, dtype);
    assert.equal(stale.cache.built, true);
    assert.equal(stale.cache.reason, 'stale: the checkpoint changed');
    assert.equal(stale.cache.dir, first.cache.dir);
    const again = await loadAndRun(dir, root, dtype);
    assert.equal(again.cache.built, false);
    // No temporary folders left behind.
    assert.deepEqual((await readdir(root)).filter((n) => n.startsWith('.tmp')), []);
  });
}

test('fp32 reads the checkpoint in place: no cache entry', async () => {
  const dir = await modelCopy();
  const root = join(await tempDir(), 'converted');
  const m = await Model.load(dir, { weightCacheRoot: root });
  assert.equal(m.weightCache, null);
  await m.release();
  await assert.rejects(stat(root), { code: 'ENOENT' });
});

test('minivl cache ls | rm list and remove entries', async () => {
  const dir = await modelCopy();
  const cacheHome = await tempDir();
  const root = join(cacheHome, 'converted');
  const a = await loadAndRun(dir, root, 'int4');
  await loadAndRun(dir, root, 'int8');
  const env = { ...process.env, MINIVL_CACHE: cacheHome };
  const ls = minivlEnv(env, 'cache', 'ls', '--json');
  assert.equal(ls.status, 0, ls.stderr);
  const list = JSON.parse(ls.stdout) as { key: string; precision: string; checkpoint: string; bytes: number }[];
  assert.deepEqual(list.map((e) => e.precision).sort(), ['int4', 'int8']);
  assert.ok(list.every((e) => e.bytes > 0 && e.checkpoint.endsWith('qwen2')));
  const int4 = list.find((e) => e.precision === 'int4')!;
  assert.equal(join(root, int4.key), a.cache.dir);
  const bad = minivlEnv(env, 'cache', 'rm', 'no-such-entry');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^minivl: error: no weight cache entry 'no-such-entry'/);
  const rm = minivlEnv(env, 'cache', 'rm', int4.key);
  assert.equal(rm.status, 0, rm.stderr);
  const left = JSON.parse(minivlEnv(env, 'cache', 'ls', '--json').stdout) as { precision: string }[];
  assert.deepEqual(left.map((e) => e.precision), ['int8']);
  assert.equal(minivlEnv(env, 'cache', 'rm', '--all').status, 0);
  assert.match(minivlEnv(env, 'cache', 'ls').stdout, /^no converted weights in /);
});

function minivlEnv(env: NodeJS.ProcessEnv, ...args: string[]) {
  const saved = process.env.MINIVL_CACHE;
  process.env.MINIVL_CACHE = env.MINIVL_CACHE;
  try {
    return minivl(...args);
  } finally {
    if (saved === undefined) delete process.env.MINIVL_CACHE;
    else process.env.MINIVL_CACHE = saved;
  }
}

test('reduced precisions read embedding rows from the file: the same values as the fp32 Gather session', async () => {
  const dir = await modelCopy();
  const root = join(await tempDir(), 'converted');
  const a = await Model.load(dir, { weightCacheRoot: root });
  const b = await Model.load(dir, { dtype: 'int4', weightCacheRoot: root });
  try {
    const ids = [0, 1, 511, 17, 17, 300];
    assert.deepEqual(await b.embed(ids), await a.embed(ids));
  } finally {
    await a.release();
    await b.release();
  }
});
