// `minivl eval score` end to end: the real CLI on JSONL files, one-line file:line errors, the no-judge note,
// a judge on 127.0.0.1 with --judge-log, and --judge-replay without a judge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, minivlBatch } from '../helpers/cli.ts';
import { ROOT } from '../helpers/paths.ts';
import { tempDir } from '../helpers/tmp.ts';
import { startFakeJudge } from './fake-judge.ts';

/** The CLI as a child process, without blocking this process (the fake judge answers from here). */
function minivlAsync(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, OPENAI_API_KEY: 'sk-local' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (status) => ok({ status: status ?? 1, stdout, stderr }));
  });
}

const lines = (...objs: unknown[]) => objs.map((o) => (typeof o === 'string' ? o : JSON.stringify(o))).join('\n') + '\n';

test('scores a file and rejects malformed lines with FILE:LINE', async () => {
  const dir = await tempDir();
  const f = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const good = f('chartqa.jsonl', lines({ id: 'h1', prediction: '96', answer: '100', split: 'human' }, { id: 'a1', prediction: '95', answer: ['100'], split: 'augmented' }));
  const badJson = f('bad-json.jsonl', lines({ id: 1, prediction: 'B', answer: 'B' }, '{"id": 2, "prediction": '));
  const missing = f('missing.jsonl', lines({ id: 1, prediction: 'B', answer: 'B' }, '', { id: 2, answer: 'B' }));
  const dup = f('dup.jsonl', lines({ id: 1, prediction: 'B', answer: 'B' }, { id: 1, prediction: 'C', answer: 'B' }));
  const badCat = f('ocr.jsonl', lines({ id: 1, prediction: 'x', answer: "['x']", category: 'Poetry' }));
  const badLit = f('ocr2.jsonl', lines({ id: 1, prediction: 'x', answer: "['x'", category: 'Doc-oriented VQA' }));
  const mmb = f('mmb.jsonl', lines({ id: 1, index: 1, prediction: 'A', question: 'q', options: { A: 'x', B: 'y' }, answer: 'C' }));
  const [ok, j, m, d, c, lit, opt, bench, proto, quirk] = minivlBatch([
    ['eval', 'score', '--bench', 'chartqa', '--predictions', good],
    ['eval', 'score', '--bench', 'ai2d', '--predictions', badJson],
    ['eval', 'score', '--bench', 'ai2d', '--predictions', missing],
    ['eval', 'score', '--bench', 'ai2d', '--predictions', dup],
    ['eval', 'score', '--bench', 'ocrbench', '--predictions', badCat],
    ['eval', 'score', '--bench', 'ocrbench', '--predictions', badLit],
    ['eval', 'score', '--bench', 'mmbench-en', '--predictions', mmb],
    ['eval', 'score', '--bench', 'nope', '--predictions', good],
    ['eval', 'score', '--bench', 'ai2d', '--protocol', 'vlmevalkit', '--predictions', good],
    ['eval', 'score', '--bench', 'ai2d', '--fix', 'everything', '--predictions', good],
  ]);
  assert.equal(ok!.status, 0, ok!.stderr);
  const out = JSON.parse(ok!.stdout);
  assert.deepEqual(out.items, [{ id: 'h1', score: 1 }, { id: 'a1', score: 0 }]);
  assert.deepEqual([out.bench, out.protocol, out.score, out.breakdown], ['chartqa', 'internvl', 50, { 'split:human': 100, 'split:augmented': 0 }]);
  const oneLine = (r: { status: number; stderr: string; stdout: string }, re: RegExp) => {
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  };
  oneLine(j!, /^minivl: error: .*bad-json\.jsonl:2: not valid JSON/);
  oneLine(m!, /missing\.jsonl:3: field 'prediction' must be a string, got missing/);
  oneLine(d!, /dup\.jsonl:2: duplicate id 1 \(first at .*dup\.jsonl:1\)/);
  oneLine(c!, /ocr\.jsonl:1: field 'category' must be one of Regular Text Recognition/);
  oneLine(lit!, /ocr2\.jsonl:1: field 'answer' must be a list literal/);
  oneLine(opt!, /mmb\.jsonl:1: field 'answer' must be one of the options A, B/);
  oneLine(bench!, /unknown benchmark 'nope'/);
  oneLine(proto!, /benchmark 'ai2d' has no protocol 'vlmevalkit'/);
  oneLine(quirk!, /--fix: unknown quirk 'everything'/);
});

test('no judge: the rule-only path, said on stderr and in the output', async () => {
  const dir = await tempDir();
  const p = join(dir, 'mmmu.jsonl');
  writeFileSync(p, lines({ id: 1, prediction: 'no idea', question: 'q', options: { A: 'x', B: 'y' }, answer: 'A', question_type: 'multiple-choice' }));
  const r = await minivlAsync('eval', 'score', '--bench', 'mmmu', '--predictions', p);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^minivl: note: no judge: mmmu \(vlmevalkit\) scored with the reference's rule-only path/);
  const out = JSON.parse(r.stdout);
  assert.equal(out.judge.used, false);
  assert.match(out.judge.note, /no judge/);
  assert.deepEqual(out.items, [{ id: 1, correct: false, extracted: 'Z', via: 'none' }]);
});

test('--judge on 127.0.0.1 with --judge-log, then --judge-replay scores the same without the judge', async () => {
  const dir = await tempDir();
  const fake = await startFakeJudge(() => 'B');
  const p = join(dir, 'gmai.jsonl');
  const log = join(dir, 'judge.jsonl');
  writeFileSync(p, lines(
    { id: 1, prediction: 'probably the second one', question: 'Which organ?', options: { A: 'liver', B: 'lung' }, answer: 'B', category: 'CT' },
    { id: 2, prediction: 'A', question: 'Which organ?', options: { A: 'liver', B: 'lung' }, answer: 'B', category: 'MRI' },
  ));
  const live = await minivlAsync('eval', 'score', '--bench', 'gmai-mmbench', '--predictions', p, '--judge', fake.url, '--judge-log', log);
  assert.equal(live.status, 0, live.stderr);
  const a = JSON.parse(live.stdout);
  assert.deepEqual(a.items.map((i: { correct: boolean }) => i.correct), [true, false]);
  assert.deepEqual([a.score, a.judge.used, a.judge.calls], [50, true, 1]);
  assert.equal(fake.requests[0]!.authorization, 'Bearer sk-local');
  assert.equal(readFileSync(log, 'utf8').trim().split('\n').length, 1);
  const replay = await minivlAsync('eval', 'score', '--bench', 'gmai-mmbench', '--predictions', p, '--judge-replay', log);
  assert.equal(replay.status, 0, replay.stderr);
  assert.deepEqual(JSON.parse(replay.stdout).items, a.items);
  assert.equal(fake.requests.length, 1);
});
