// `minivl eval run --dtype int8`: the run uses that precision (the converted-weight cache fills), records it
// as a departure from the reference settings (stored, printed, in the report), answers as MiniVL does at
// that precision, and a store made at one precision is not continued at another.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { MiniVL } from '../../src/index.ts';
import { parseBenchList, toolkitSpec } from '../../src/eval/benchmarks.ts';
import { readBench } from '../../src/eval/datasets/index.ts';
import { imageInput } from '../../src/eval/datasets/images.ts';
import { effectiveSettings } from '../../src/eval/run.ts';
import { tempDir } from '../helpers/tmp.ts';
import { png } from './fixtures.ts';
import { cli, storedItems, tinyCheckpoint } from './run-helpers.ts';

const dir = await tempDir('minivl-eval-dtype-');
// The spawned CLI inherits this; the in-process MiniVL below reads the same cache.
process.env.MINIVL_CACHE = join(dir, 'cache');
const ckpt = tinyCheckpoint(dir);
const data = join(dir, 'data');
mkdirSync(join(data, 'ai2diagram', 'img'), { recursive: true });
writeFileSync(join(data, 'ai2diagram', 'img', '0.png'), await png(40));
const rows = [0, 1].map((i) => ({ image: 'img/0.png', question: `Which label is part ${i}?\nA. x\nB. y`, question_id: i, answer: i ? 'A' : 'B' }));
writeFileSync(join(data, 'ai2diagram', 'test_vlmevalkit.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
const out = join(dir, 'results');
const args = (...extra: string[]) => ['eval', 'run', '--model', ckpt, '--bench', 'ai2d', '--data', data, '--out', out, '--max-num', '1', '--max-new-tokens', '6', ...extra];

test('eval run --dtype int8: converted once, recorded as a departure, answers = MiniVL at int8', async () => {
  const r = cli(...args('--dtype', 'int8'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /minivl: converting weights to int8 \(missing\) into /);
  assert.match(r.stderr, /ai2d: NOT the reference settings: .*dtype int8 \(reference bf16 weights, run exactly in fp32\)/);
  assert.deepEqual(readdirSync(join(dir, 'cache', 'converted')).map((e) => e.split('-')[0]), ['int8']);

  const db = new Database(join(out, 'results.sqlite'), { readonly: true });
  const settings = JSON.parse((db.prepare('SELECT settings FROM runs WHERE bench = ?').get('ai2d') as { settings: string }).settings);
  db.close();
  assert.equal(settings.dtype, 'int8');

  // The stored answers are the library's int8 answers to the same prompts and settings.
  const items = storedItems(join(out, 'results.sqlite'), 'ai2d');
  assert.equal(items.length, 2);
  const vl = await MiniVL.load(ckpt, { dtype: 'int8' });
  try {
    const [bench] = parseBenchList('ai2d');
    const s = effectiveSettings(bench!, undefined, { maxNum: 1, maxNewTokens: 6, dtype: 'int8' });
    const { spec } = toolkitSpec(bench!, undefined);
    for (const item of readBench(bench!, undefined, data).items) {
      const res = await vl.chat({ question: spec.question(item), images: item.images.map(imageInput), maxNum: s.maxNum, generation: { maxNewTokens: s.maxNewTokens, minNewTokens: s.minNewTokens } });
      const stored = items.find((it) => it.id === item.id)!;
      assert.deepEqual(JSON.parse(stored.output_ids), res.tokenIds, `item ${item.id}`);
      assert.equal(stored.prediction, res.text);
    }
  } finally {
    await vl.release();
  }

  const report = cli('eval', 'report', '--results', out);
  assert.equal(report.status, 0, report.stderr);
  assert.match(report.stdout, /not the reference settings: .*dtype int8/);
});

test('eval run: a store made at int8 is not continued at fp32 (or int4)', () => {
  for (const extra of [[], ['--dtype', 'int4']]) {
    const r = cli(...args(...extra));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^minivl: error: .*results\.sqlite: ai2d was run with other settings .*"dtype":"int8".*; use another --out folder to keep both\n$/);
  }
});

test('eval run --dtype int3: one error line, exit 1', () => {
  const r = cli(...args('--dtype', 'int3'));
  assert.equal(r.status, 1);
  assert.equal(r.stderr, "minivl: error: --dtype must be one of fp32, fp16, int8, int4, got 'int3'\n");
});
