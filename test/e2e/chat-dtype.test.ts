// `minivl chat --dtype int8|int4 [--prefill-weights int8] --threads N`: the CLI converts once into $MINIVL_CACHE (saying so), reuses
// the entry on the next start, and answers exactly as the library does at that precision; bad values fail
// before the model loads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../helpers/cli.ts';
import { ROOT } from '../helpers/paths.ts';
import { MiniVL } from '../../src/index.ts';
import { tinyCheckpoints, image } from '../generate/chat-helpers.ts';

let dir: string;
let cache: string;
let cleanup = async () => {};

before(async () => {
  const t = await tinyCheckpoints(['1b']);
  dir = t.dirs['1b'];
  cleanup = t.cleanup;
  cache = await mkdtemp(join(tmpdir(), 'minivl-chat-dtype-cache-'));
  // The in-process library below reads the same weight cache as the spawned CLI.
  process.env.MINIVL_CACHE = cache;
});

after(async () => {
  await cleanup();
  if (cache) await rm(cache, { recursive: true, force: true });
});

const QUESTION = 'What is in the image?';

const entries = async () => readdir(join(cache, 'converted')).catch(() => [] as string[]);

function chat(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'chat', '--model', dir, ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, MINIVL_CACHE: cache, MINIVL_OFFLINE: '1', MINIVL_DEBUG: '' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const [dtype, prefillWeights] of [['int8'], ['int4'], ['int4', 'int8']] as const) {
  const label = `--dtype ${dtype}${prefillWeights ? ` --prefill-weights ${prefillWeights}` : ''}`;
  test(`${label}: converted once (said on stderr), reused next start, same answer as MiniVL.load`, async () => {
    const extra = prefillWeights ? ['--prefill-weights', prefillWeights] : [];
    const args = ['--dtype', dtype, ...extra, '--threads', '1', '--image', image('tiny_100x50.png'), '--max-num', '1', '--max-new-tokens', '8', QUESTION];
    const before = await entries();
    const first = chat(...args);
    assert.equal(first.code, 0, first.stderr);
    // int4's own entry may exist from the plain int4 case; the prefill weights add a decoder-only entry of their own.
    const added = (await entries()).filter((e) => !before.includes(e));
    assert.equal(added.length, 1, `one new cache entry, got ${added.join(', ')}`);
    assert.ok(added[0]!.startsWith(`${dtype}-`), added[0]);
    const converting = first.stderr.match(/minivl: converting weights to [^(]+\(missing\) into /g) ?? [];
    assert.deepEqual(converting.map((l) => l.slice('minivl: converting weights to '.length, -' (missing) into '.length)),
      [prefillWeights ? 'int8 prefill linears' : dtype], first.stderr);

    const second = chat(...args);
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stderr, /converting weights/);
    assert.equal(second.stdout, first.stdout);

    const vl = await MiniVL.load(dir, { dtype, prefillWeights, threads: 1 });
    try {
      assert.equal(vl.model.precision, dtype);
      assert.equal(vl.model.prefillWeights, prefillWeights ?? null);
      const r = await vl.chat({ question: QUESTION, images: [image('tiny_100x50.png')], maxNum: 1, generation: { maxNewTokens: 8 } });
      assert.ok(r.tokenIds.length > 0);
      assert.equal(first.stdout, `${r.text}\n`);
    } finally {
      await vl.release();
    }
  });
}

test('--dtype / --threads: a bad value is one error line, exit 1, before the model loads', () => {
  for (const [flag, value, msg] of [
    ['--dtype', 'int3', "minivl: error: --dtype must be one of fp32, fp16, int8, int4, got 'int3'"],
    ['--threads', '0', 'minivl: error: --threads must be'],
  ] as const) {
    const r = chat(flag, value, QUESTION);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]!.startsWith(msg), lines[0]);
    assert.doesNotMatch(r.stderr, /loading model/);
  }
});
