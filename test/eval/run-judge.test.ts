// Scoring with a judge: a local OpenAI-compatible fake on 127.0.0.1 answers the matching prompts; every request
// and reply is stored, so the results are re-scored from the store (no model, no judge calls) or without a judge.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { tempDir } from '../helpers/tmp.ts';
import { writeFixture } from './fixtures.ts';
import { cli, cliAsync, QUICK, storedScores, tinyCheckpoint } from './run-helpers.ts';

const dir = await tempDir('minivl-eval-judge-');
const ckpt = tinyCheckpoint(dir);
const fx = await writeFixture(dir);
const out = join(dir, 'results');
const store = join(out, 'results.sqlite');

const requests: Array<{ model: string; messages: Array<{ role: string; content: Array<{ text: string }> }>; temperature: number }> = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    requests.push(JSON.parse(body));
    res.setHeader('content-type', 'application/json');
    // Always option A: copy 1 of question 1 (answer A) is right, copy 1000001 (answer D) wrong; question 2 (answer A) right.
    res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'A' } }] }));
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
after(() => server.close());
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
const run = (...extra: string[]) => cliAsync('eval', 'run', '--model', ckpt, '--bench', 'mmbench-en', '--data', fx.data, '--out', out, ...QUICK, ...extra);

test('MMBench CircularEval with the judge: prompts sent, replies stored, score from the judge', async () => {
  const r = await run('--judge', url);
  assert.equal(r.status, 0, r.stderr);
  // The tiny model's answers are empty, so the rules find no letter and every row goes to the judge.
  assert.ok(requests.length >= 2, `${requests.length} judge requests`);
  const prompt = requests[0]!.messages[0]!.content[0]!.text;
  assert.match(prompt, /^You are an AI assistant who will help me to match an answer with several options of a single-choice question\./);
  assert.match(prompt, /Question: What is the main object\?\?\nOptions: There are several options: \nA\. teddy bear\n/);
  assert.equal(requests[0]!.temperature, 0);
  // Question 1: copy 1 right, copy 1000001 wrong → 0; question 2 right → 1; accuracy 50.
  assert.deepEqual(storedScores(store), [{ bench: 'mmbench-en', score: 50, judge: url }]);
  const db = new Database(store, { readonly: true });
  const stored = db.prepare('SELECT request, reply FROM judge').all() as Array<{ request: string; reply: string }>;
  db.close();
  assert.equal(stored.length, new Set(requests.map((q) => JSON.stringify(q.messages))).size);
  for (const s of stored) assert.equal(s.reply, 'A');
});

test('re-scoring from the stored replies: no model run, no judge call, same score', async () => {
  const calls = requests.length;
  const r = await run('--judge', 'replay');
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /loaded /);
  assert.equal(requests.length, calls);
  assert.deepEqual(storedScores(store), [{ bench: 'mmbench-en', score: 50, judge: 'replay (stored replies)' }]);
  // The live judge is asked only for what is not stored: nothing here.
  const live = await run('--judge', url);
  assert.equal(live.status, 0, live.stderr);
  assert.equal(requests.length, calls);
});

test('without a judge the run says so, and the report too', async () => {
  const r = await run();
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /mmbench-en: scored WITHOUT a judge \(the reference's rule-only path\)/);
  assert.deepEqual(storedScores(store), [{ bench: 'mmbench-en', score: 0, judge: '' }]);
  const rep = cli('eval', 'report', '--results', out, '--json');
  assert.equal(rep.status, 0, rep.stderr);
  assert.ok(rep.json.table.benches[0].notes.some((n: string) => /no judge: rule-only scoring/.test(n)), JSON.stringify(rep.json.table.benches[0].notes));
});
