// Two shards of one benchmark, merged, give the same items and scores as one whole run; merge refuses the
// same shard twice, overlapping items and stores made with other settings.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/tmp.ts';
import { writeFixture } from './fixtures.ts';
import { cli, outcome, QUICK, storedItems, storedScores, tinyCheckpoint } from './run-helpers.ts';

const dir = await tempDir('minivl-eval-shard-');
const ckpt = tinyCheckpoint(dir);
const fx = await writeFixture(dir);
// MMBench: the circular copies of one question land in different shards, so only the merge can score them.
const BENCH = 'mmbench-en,chartqa';
const run = (out: string, ...extra: string[]) => cli('eval', 'run', '--model', ckpt, '--bench', BENCH, '--data', fx.data, '--out', join(dir, out), ...QUICK, ...extra);
const runOne = (out: string, ...extra: string[]) => cli('eval', 'run', '--model', ckpt, '--bench', 'mmbench-en', '--data', fx.data, '--out', join(dir, out), ...QUICK, ...extra);

test('2 shards merged = the whole run', () => {
  const whole = run('whole');
  assert.equal(whole.status, 0, whole.stderr);
  const s0 = run('s0', '--shard', '0/2');
  const s1 = run('s1', '--shard', '1/2');
  assert.equal(s0.status, 0, s0.stderr);
  assert.equal(s1.status, 0, s1.stderr);
  assert.deepEqual(s0.json.benches.map((b: { selected: number }) => b.selected), [2, 2]); // mmbench-en 3 → 2 + 1, chartqa 3 → 2 + 1
  assert.deepEqual(s1.json.benches.map((b: { selected: number }) => b.selected), [1, 1]);
  const m = cli('eval', 'merge', '--out', join(dir, 'merged'), join(dir, 's0'), join(dir, 's1', 'results.sqlite'));
  assert.equal(m.status, 0, m.stderr);
  assert.deepEqual(m.json.benches.map((b: { bench: string; shards: string; complete: boolean }) => [b.bench, b.shards, b.complete]), [['mmbench-en', '0,1/2', true], ['chartqa', '0,1/2', true]]);
  const merged = join(dir, 'merged', 'results.sqlite');
  const ref = join(dir, 'whole', 'results.sqlite');
  assert.deepEqual(outcome(storedItems(merged)), outcome(storedItems(ref)));
  const scores = (p: string) => storedScores(p).map(({ bench, score }) => ({ bench, score }));
  assert.deepEqual(scores(merged), scores(ref));
  // The merged store reports like the whole one.
  const rep = cli('eval', 'report', '--results', join(dir, 'merged'), '--json');
  assert.equal(rep.status, 0, rep.stderr);
  assert.deepEqual(rep.json.table.benches.map((b: { items: number; notes: string[] }) => b.items), [3, 3]);
});

test('merge refuses overlaps, the same shard twice, other settings, and an existing output', () => {
  const twice = cli('eval', 'merge', '--out', join(dir, 'm2'), join(dir, 's0'), join(dir, 's0'));
  assert.equal(twice.status, 1);
  assert.match(twice.stderr, /^minivl: error: mmbench-en: shard 0 is in both .*s0\/results\.sqlite and .*s0\/results\.sqlite\n$/);
  const overlap = cli('eval', 'merge', '--out', join(dir, 'm3'), join(dir, 'whole'), join(dir, 's1'));
  assert.equal(overlap.status, 1);
  assert.match(overlap.stderr, /mmbench-en: the stores split it into different shard counts/);
  const other = runOne('s1-other', '--shard', '1/2', '--max-new-tokens', '3');
  assert.equal(other.status, 0, other.stderr);
  const mism = cli('eval', 'merge', '--out', join(dir, 'm4'), join(dir, 's0'), join(dir, 's1-other'));
  assert.equal(mism.status, 1);
  assert.match(mism.stderr, /mmbench-en settings differ from/);
  const exists = cli('eval', 'merge', '--out', join(dir, 'merged'), join(dir, 's0'), join(dir, 's1'));
  assert.equal(exists.status, 1);
  assert.match(exists.stderr, /already holds results\.sqlite \(pass --force to replace it\)/);
});
