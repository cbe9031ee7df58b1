// A run killed with SIGKILL mid-way loses at most the item in flight; the rerun answers only the rest and
// ends with the same items and scores as a run that was never interrupted.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { tempDir } from '../helpers/tmp.ts';
import { png } from './fixtures.ts';
import { cli, cliSpawn, outcome, storedItems, storedScores, tinyCheckpoint } from './run-helpers.ts';

const N = 12;
const dir = await tempDir('minivl-eval-resume-');
const ckpt = tinyCheckpoint(dir);
const data = join(dir, 'data');
mkdirSync(join(data, 'ai2diagram', 'img'), { recursive: true });
for (let i = 0; i < 4; i++) writeFileSync(join(data, 'ai2diagram', 'img', `${i}.png`), await png(30 + i));
writeFileSync(
  join(data, 'ai2diagram', 'test_vlmevalkit.jsonl'),
  Array.from({ length: N }, (_, i) => JSON.stringify({ image: `img/${i % 4}.png`, question: `Which label is part ${i}?\nA. x\nB. y`, question_id: i, answer: i % 2 ? 'A' : 'B' })).join('\n') + '\n',
);
const args = (out: string) => ['eval', 'run', '--model', ckpt, '--bench', 'ai2d', '--data', data, '--out', out, '--max-num', '1', '--max-new-tokens', '16'];

function countItems(store: string): number {
  if (!existsSync(store)) return 0;
  try {
    const db = new Database(store, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM items').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0; // created but no schema yet
  }
}

test('SIGKILL mid-run, then resume: finished items are kept, not recomputed; same final result as an uninterrupted run', async () => {
  const killed = join(dir, 'killed');
  const store = join(killed, 'results.sqlite');
  const child = cliSpawn(...args(killed));
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  let done = false;
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => ((done = true), res(code))));
  let n = 0;
  for (let t = 0; t < 2400 && n < 3 && !done; t++) {
    await sleep(25);
    n = countItems(store);
  }
  assert.equal(done, false, `the run ended before it could be killed: ${stderr}`);
  child.kill('SIGKILL');
  await exited;
  const kept = storedItems(store);
  assert.ok(kept.length >= 3 && kept.length < N, `killed after ${kept.length} of ${N} items`);

  const resumed = cli(...args(killed));
  assert.equal(resumed.status, 0, resumed.stderr);
  const b = resumed.json.benches[0];
  assert.equal(b.resumed, kept.length);
  assert.equal(b.answered, N - kept.length);
  const after = storedItems(store);
  assert.equal(after.length, N);
  for (const k of kept) assert.deepEqual(after.find((x) => x.id === k.id), k, `item ${k.id} was recomputed`);

  const whole = join(dir, 'whole');
  const w = cli(...args(whole));
  assert.equal(w.status, 0, w.stderr);
  assert.deepEqual(outcome(after), outcome(storedItems(join(whole, 'results.sqlite'))));
  assert.deepEqual(storedScores(store).map(({ bench, score }) => ({ bench, score })), storedScores(join(whole, 'results.sqlite')).map(({ bench, score }) => ({ bench, score })));
});

test('Ctrl-C (SIGINT): stops after the item in flight, exit 130, says how to continue; the rerun finishes', async () => {
  const out = join(dir, 'interrupted');
  const store = join(out, 'results.sqlite');
  const child = cliSpawn(...args(out));
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  let done = false;
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => ((done = true), res(code))));
  for (let t = 0; t < 2400 && countItems(store) < 2 && !done; t++) await sleep(25);
  assert.equal(done, false, `the run ended before it could be interrupted: ${stderr}`);
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.match(stderr, /minivl: interrupted; stopping after the item in flight/);
  assert.match(stderr, /minivl: eval run interrupted; rerun the same command to continue/);
  const kept = countItems(store);
  assert.ok(kept >= 2 && kept < N, `${kept} items stored`);
  const r = cli(...args(out));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.json.benches[0].resumed, kept);
  assert.equal(countItems(store), N);
});
