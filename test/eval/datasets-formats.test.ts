// The low-level pieces under the readers: pandas-style TSV quoting and line numbers, Python list cells,
// base64 checks, the MMMU ×2 bilinear upscale, and the shard split.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { base64Problem } from '../../src/eval/datasets/images.ts';
import { isPandasNa, parsePythonStringList, readTsv } from '../../src/eval/datasets/tsv.ts';
import { parseShard, shardRange } from '../../src/eval/run.ts';
import { upscaleBilinear } from '../../src/eval/upscale.ts';
import { rejectsWith, tempDir } from '../helpers/tmp.ts';
import { tsv } from './fixtures.ts';

const dir = await tempDir('minivl-eval-fmt-');

test('TSV: quoted cells with tabs, newlines and quotes; rows keep the line they start on', () => {
  const p = join(dir, 'a.tsv');
  writeFileSync(p, tsv(['index', 'question', 'A'], [
    { index: '1', question: 'line one\nline two', A: 'say "hi"' },
    { index: '2', question: 'tab\there', A: 'x' },
    { index: '3', question: 'plain' },
  ]));
  const t = readTsv(p);
  assert.deepEqual(t.header, ['index', 'question', 'A']);
  assert.deepEqual(t.rows.map((r) => [r.line, r.cells.index, r.cells.question, r.cells.A]), [
    [2, '1', 'line one\nline two', 'say "hi"'],
    [4, '2', 'tab\there', 'x'],
    [5, '3', 'plain', ''],
  ]);
});

test('TSV: a short row is flagged; an unterminated quote is one error naming the file', async () => {
  const p = join(dir, 'b.tsv');
  writeFileSync(p, 'index\tquestion\tA\n1\tonly two\n');
  assert.equal(readTsv(p).rows[0]!.short, true);
  const bad = join(dir, 'c.tsv');
  writeFileSync(bad, 'index\tquestion\n1\t"never closed\n');
  await rejectsWith(() => readTsv(bad), /c\.tsv.*not a readable TSV/);
});

test('pandas NaN cells and Python list cells', () => {
  for (const s of ['', 'nan', 'NaN', 'None', 'N/A', 'NULL']) assert.equal(isPandasNa(s), true, s);
  for (const s of ['0', 'none', 'Nothing', ' ']) assert.equal(isPandasNa(s), false, s);
  assert.deepEqual(parsePythonStringList("['stop', \"it's\"]"), ['stop', "it's"]);
  assert.deepEqual(parsePythonStringList('[]'), []);
  assert.equal(parsePythonStringList('stop'), null);
});

test('base64 cells', () => {
  assert.equal(base64Problem('iVBORw0KGgo='), null);
  assert.equal(base64Problem('iVBO Rw0K\nGgo='), null);
  assert.match(base64Problem('not*base64')!, /not valid base64/);
  assert.match(base64Problem('')!, /empty image cell/);
});

test('MMMU upscale: Pillow BILINEAR ×2 (triangle taps, 22-bit fixed point, horizontal pass first)', () => {
  // [0, 255] → taps (1), (.75 .25), (.25 .75), (1) → 0, 63.75, 191.25, 255 → rounded 0, 64, 191, 255.
  const row = upscaleBilinear({ width: 2, height: 1, data: new Uint8Array([0, 0, 0, 255, 255, 255]) });
  assert.equal(row.width, 4);
  assert.equal(row.height, 2);
  assert.deepEqual([...row.data.filter((_, i) => i % 3 === 0)], [0, 64, 191, 255, 0, 64, 191, 255]);
  const flat = upscaleBilinear({ width: 3, height: 2, data: new Uint8Array(18).fill(77) });
  assert.deepEqual([...new Set(flat.data)], [77]);
  assert.equal(flat.data.length, 6 * 4 * 3);
});

test('shards: contiguous ranges that cover every item once, sizes differ by at most one', () => {
  for (const total of [0, 1, 5, 7, 10]) {
    for (const n of [1, 2, 3, 4]) {
      const ranges = Array.from({ length: n }, (_, k) => shardRange(total, { k, n }));
      assert.equal(ranges[0]![0], 0);
      assert.equal(ranges[n - 1]![1], total);
      for (let k = 1; k < n; k++) assert.equal(ranges[k]![0], ranges[k - 1]![1]);
      const sizes = ranges.map(([a, b]) => b - a);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
    }
  }
  assert.deepEqual(shardRange(5, { k: 0, n: 2 }), [0, 3]);
  assert.deepEqual(shardRange(5, { k: 1, n: 2 }), [3, 5]);
  assert.deepEqual(parseShard('1/4'), { k: 1, n: 4 });
  for (const bad of ['4/4', '1', 'a/b', '-1/2', '0/0']) assert.throws(() => parseShard(bad), /--shard must be k\/n/);
});
