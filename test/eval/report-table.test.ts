// The report's arithmetic on a store with known scores: the published layout, the average with OCRBench / 10,
// the % of the 76B model, the differences from the published numbers, the val comparisons, the SVG chart.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { PUBLISHED_BENCHES } from '../../src/eval/benchmarks.ts';
import { PUBLISHED_TABLE, publishedModelOf } from '../../src/eval/published.ts';
import { buildReport, reportMarkdown, reportSvg } from '../../src/eval/report.ts';
import { EvalStore } from '../../src/eval/store.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = await tempDir('minivl-eval-report-');

function storeWith(name: string, scores: Record<string, number>, breakdown: Record<string, Record<string, number>> = {}): EvalStore {
  const s = EvalStore.open(join(dir, `${name}.sqlite`), { create: true });
  for (const bench of Object.keys(scores)) {
    s.putRun({ bench, toolkit: 'internvl', settings: '{"overrides":[]}', model: 'fp', modelName: 'InternVL2-1B', shard: '', totalItems: 10, dataFiles: '' });
    for (let i = 0; i < 10; i++) {
      s.putItem({ bench, id: String(i), seq: i, location: `f:${i + 2}`, inputHash: 'h', promptHash: 'p', status: 'done', prediction: 'A', error: '', promptTokens: 1, outputTokens: 1, outputIds: '[1]', ms: 1, fields: '{}' });
    }
    s.putScores({ bench, protocol: 'internvl', score: scores[bench]!, judge: 'http://judge/v1', items: 10, errors: 0, problems: 0, summary: JSON.stringify({ breakdown: breakdown[bench] ?? {} }), scoredAt: 'now' }, []);
  }
  return s;
}

test('the published 1B numbers reproduce the published average and % of 76B; differences are zero', () => {
  const pub = PUBLISHED_TABLE['1b'];
  // DocVQA/InfoVQA are scored on val locally: use the docs' val numbers for them.
  const scores = { ...pub, docvqa: 79.99, infovqa: 50.18 };
  const s = storeWith('pub', scores, { chartqa: { human: 53.92, augmented: 91.84 } });
  const r = buildReport(s, '1b');
  const expectedAvg = (36.7 + 37.7 + 64.1 + 72.9 + 79.99 + 50.18 + 75.4 + 65.4 + 60.7) / 9;
  assert.equal(r.table.average, expectedAvg);
  assert.equal(r.table.percentOf76B, (expectedAvg / (732.5 / 9)) * 100);
  assert.equal(r.table.publishedAverage, 60.6);
  assert.equal(r.table.publishedPercentLabel, 74);
  for (const b of r.table.benches) {
    if (['docvqa', 'infovqa'].includes(b.bench)) assert.equal(b.published, null); // the table's cell is the test server's
    else assert.equal(b.difference, 0, b.bench);
  }
  assert.deepEqual(r.details, [
    { key: 'docvqa val', run: 79.99, published: 79.99, difference: 0 },
    { key: 'infovqa val', run: 50.18, published: 50.18, difference: 0 },
    { key: 'chartqa human', run: 53.92, published: 53.92, difference: 0 },
    { key: 'chartqa augmented', run: 91.84, published: 91.84, difference: 0 },
  ]);
  const md = reportMarkdown(r);
  assert.match(md, /\| this run \| 36\.7 \| 37\.7 \| 64\.1 \| 72\.9 \| 80\.0 \| 50\.2 \| 754 \| 65\.4 \| 60\.7 \| 60\.3 \(74\.1 % of 76B\) \|/);
  assert.match(md, /\| difference \| \+0\.0 \| \+0\.0 \| \+0\.0 \| \+0\.0 \| - \| - \| \+0 \| \+0\.0 \| \+0\.0 \| \|/);
  assert.match(md, /\| chartqa human \| 53\.92 \| 53\.92 \| \+0\.00 \|/);
  const svg = reportSvg(r);
  assert.equal((svg.match(/<rect x="\d+(\.\d+)?" y="[\d.]+" width="26"/g) ?? []).length, 20); // 10 groups × (run, published)
  s.close();
});

test('the average skips missing benchmarks (the table\'s "-"), OCRBench counts / 10; differences are signed', () => {
  const s = storeWith('part', { mmmu: 40, ocrbench: 800, ai2d: 60 });
  const r = buildReport(s, '1b');
  assert.equal(r.table.average, (40 + 80 + 60) / 3);
  assert.deepEqual(r.table.benches.map((b) => [b.bench, b.difference]), [['mmmu', 40 - 36.7], ['ai2d', 60 - 64.1], ['ocrbench', 800 - 754]]);
  const md = reportMarkdown(r);
  assert.match(md, /\| this run \| 40\.0 \| - \| 60\.0 \| - \| - \| - \| 800 \| - \| - \| 60\.0 \(73\.7 % of 76B\) \|/);
  assert.match(md, /\| difference \| \+3\.3 \| - \| -4\.1 \| - \| - \| - \| \+46 \| - \| - \| \|/);
  // Benchmarks run on part of the data say so.
  s.putRun({ bench: 'mmmu', toolkit: 'vlmevalkit', settings: '{"overrides":["max_num 1 (reference 12)"]}', model: 'fp', modelName: 'm', shard: '0/2', totalItems: 20, dataFiles: '' });
  const notes = buildReport(s, null).table.benches[0]!.notes;
  assert.deepEqual(notes, ['not the reference settings: max_num 1 (reference 12)', '10 of 20 items (shards 0/2)']);
  s.close();
});

test('the published row follows the checkpoint template', () => {
  assert.equal(publishedModelOf('Hermes-2'), '1b');
  assert.equal(publishedModelOf('internlm2-chat'), '2b');
  assert.equal(publishedModelOf('phi3-chat'), '4b');
  assert.equal(publishedModelOf('other'), null);
  assert.deepEqual(Object.keys(PUBLISHED_TABLE['4b']), PUBLISHED_BENCHES);
});
