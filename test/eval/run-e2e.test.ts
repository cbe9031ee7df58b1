// `minivl eval run` end to end on a tiny random checkpoint for the nine published benchmarks and the domain
// ones (fixture files in the real formats), a rerun that resumes everything without loading the model, the
// refusal of a store made with other settings, and the report with its exports.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DOMAIN_BENCHES, PUBLISHED_BENCHES } from '../../src/eval/benchmarks.ts';
import { tempDir } from '../helpers/tmp.ts';
import { writeFixture } from './fixtures.ts';
import { cli, QUICK, storedItems, storedScores, tinyCheckpoint } from './run-helpers.ts';

const dir = await tempDir('minivl-eval-e2e-');
const ckpt = tinyCheckpoint(dir);
const fx = await writeFixture(dir);
const out = join(dir, 'results');
const ALL = [...PUBLISHED_BENCHES, ...DOMAIN_BENCHES];
const runArgs = ['eval', 'run', '--model', ckpt, '--bench', 'published,domain', '--data', fx.data, '--out', out, ...QUICK];

test('eval run: every benchmark end to end, answers and scores stored, malformed rows counted', () => {
  const r = cli(...runArgs);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.json.benches.map((b: { bench: string }) => b.bench), ALL);
  for (const b of r.json.benches) {
    assert.equal(b.selected, fx.itemCounts[b.bench], b.bench);
    assert.equal(b.answered, fx.itemCounts[b.bench], b.bench);
    assert.equal(b.resumed, 0);
    assert.equal(b.errors, fx.itemErrors[b.bench] ?? 0, b.bench);
    assert.equal(b.problems, (fx.expectedProblems[b.bench] ?? []).length, b.bench);
  }
  // Problems are printed with their location.
  assert.match(r.stderr, /ai2d: ai2diagram\/test_vlmevalkit\.jsonl:3: image file .* not found/);
  assert.match(r.stderr, /ocrbench: OCRBench\.tsv:4: image cell is not valid base64/);
  // An undecodable image fails its item only: stored with the reason, scored as an empty answer.
  assert.match(r.stderr, /ocrbench: OCRBench\.tsv:5 \(id 3\): .+/);
  // A run without a judge says so for the benchmarks whose published protocol used one.
  for (const b of ['mmmu', 'mathvista', 'mmbench-en', 'mmbench-cn', 'gmai-mmbench']) assert.match(r.stderr, new RegExp(`${b}: scored WITHOUT a judge`));
  assert.match(r.stderr, /NOT the reference settings: max_num 1 \(reference 12\), max_new_tokens 4 \(reference 1024\)/);
  const items = storedItems(join(out, 'results.sqlite'));
  assert.equal(items.length, Object.values(fx.itemCounts).reduce((a, b) => a + b, 0));
  for (const it of items) {
    if (it.bench === 'ocrbench' && it.id === '3') {
      assert.equal(it.status, 'error');
      continue;
    }
    assert.equal(it.status, 'done');
    assert.match(it.prompt_hash, /^[0-9a-f]{64}$/);
    assert.equal(JSON.parse(it.output_ids).length > 0, true);
  }
  const scores = storedScores(join(out, 'results.sqlite'));
  assert.deepEqual(scores.map((s) => s.bench).sort(), [...ALL].sort());
  // Every scored benchmark has a number except DriveLM, whose final score needs the ChatGPT judge.
  for (const s of scores) assert.equal(s.score === null, s.bench === 'drivelm', `${s.bench}: ${s.score}`);
});

test('eval run again: everything resumes from the store, the model is not even loaded', () => {
  const before = storedItems(join(out, 'results.sqlite'));
  const r = cli(...runArgs);
  assert.equal(r.status, 0, r.stderr);
  for (const b of r.json.benches) {
    assert.equal(b.answered, 0);
    assert.equal(b.resumed, fx.itemCounts[b.bench]);
  }
  assert.doesNotMatch(r.stderr, /loaded /);
  assert.deepEqual(storedItems(join(out, 'results.sqlite')), before); // same rows, same timestamps
});

test('eval run refuses to continue a store made with other settings', () => {
  const r = cli('eval', 'run', '--model', ckpt, '--bench', 'ai2d', '--data', fx.data, '--out', out, '--max-num', '1', '--max-new-tokens', '5');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^minivl: error: .*results\.sqlite: ai2d was run with other settings .*; use another --out folder to keep both\n$/);
  assert.equal(r.stderr.split('\n').length, 2, 'one line, before any other output');
});

test('eval report: the published layout, differences, JSON, SVG and submission files', () => {
  const rep = join(dir, 'report');
  const sub = join(dir, 'submission');
  const r = cli('eval', 'report', '--results', out, '--compare', 'published', '--out', rep, '--export', sub);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^# Evaluation report: /);
  assert.match(r.stdout, /\| \| MMMU val \| MathVista testmini \| AI2D \| ChartQA \| DocVQA val \| InfoVQA val \| OCRBench \| MMB-EN \| MMB-CN \| Avg \|/);
  assert.match(r.stdout, /\| published 1B \| 36\.7 \| 37\.7 \| 64\.1 \| 72\.9 \| \(test 81\.7\) \| \(test 50\.9\) \| 754 \| 65\.4 \| 60\.7 \| 60\.6 \(74 %\) \|/);
  assert.match(r.stdout, /\| docvqa val \| .* \| 79\.99 \|/);
  assert.match(r.stdout, /\| mmmu \| vlmevalkit \| 2\/2 \| 0 \| 0 \| none \| not the reference settings: .*no judge: rule-only scoring/);
  const json = JSON.parse(readFileSync(join(rep, 'report.json'), 'utf8'));
  assert.equal(json.compareWith, '1b');
  assert.deepEqual(json.table.benches.map((b: { bench: string }) => b.bench), PUBLISHED_BENCHES);
  const cells = json.table.benches.map((b: { bench: string; score: number }) => (b.bench === 'ocrbench' ? b.score / 10 : b.score));
  assert.equal(json.table.average, cells.reduce((a: number, b: number) => a + b, 0) / 9);
  for (const b of json.table.benches) if (b.published !== null) assert.equal(b.difference, b.score - b.published);
  assert.match(readFileSync(join(rep, 'report.svg'), 'utf8'), /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const doc = JSON.parse(readFileSync(join(sub, 'docvqa_submission.json'), 'utf8'));
  assert.deepEqual(doc.map((d: { questionId: number }) => d.questionId), [57344, 57345]);
  assert.equal(typeof doc[0].answer, 'string');
  const mmb = readFileSync(join(sub, 'mmbench-en_submission.tsv'), 'utf8').split('\n');
  assert.equal(mmb[0], 'index\tquestion\tA\tB\tC\tD\tanswer\tprediction');
  assert.equal(mmb.length, 5); // header, 3 rows, final newline
  // Existing files are not replaced without --force.
  const again = cli('eval', 'report', '--results', out, '--out', rep);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /report\.md: already exists \(pass --force to replace it\)/);
  assert.equal(existsSync(join(rep, 'report.md')), true);
});
