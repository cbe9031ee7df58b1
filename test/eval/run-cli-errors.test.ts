// Bad flags of eval run / merge / report: one line, non-zero exit, before any slow work.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { minivlBatch } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = await tempDir('minivl-eval-cli-');
const data = join(dir, 'data');
mkdirSync(data);
const notStore = join(dir, 'not-a-store.sqlite');
writeFileSync(notStore, 'hello');

test('eval run/merge/report refuse bad input with one line', () => {
  const cases: Array<[string[], RegExp]> = [
    [['eval', 'run', '--bench', 'ai2d', '--data', data], /--model is required/],
    [['eval', 'run', '--model', dir, '--bench', 'nope', '--data', data], /unknown benchmark 'nope' \(known: mmmu, mathvista, /],
    [['eval', 'run', '--model', dir, '--bench', 'ai2d', '--data', join(dir, 'missing')], /--data .*missing: no such folder/],
    [['eval', 'run', '--model', dir, '--bench', 'ai2d', '--data', data], /ai2d \(internvl\): no data file under .* \(expected ai2diagram\/test_vlmevalkit\.jsonl\)/],
    [['eval', 'run', '--model', dir, '--bench', 'mmmu', '--data', data, '--toolkit', 'internvl'], /mmmu: no internvl protocol \(available: vlmevalkit\)/],
    [['eval', 'run', '--model', dir, '--bench', 'ai2d', '--data', data, '--toolkit', 'lmms'], /--toolkit must be one of internvl, vlmevalkit/],
    [['eval', 'run', '--model', dir, '--bench', 'ai2d', '--data', data, '--shard', '2/2'], /--shard must be k\/n with 0 ≤ k < n/],
    [['eval', 'run', '--model', dir, '--bench', 'ai2d', '--data', data, '--limit', '0'], /--limit must be an integer ≥ 1/],
    [['eval', 'run', '--model', dir, '--bench', 'ai2d', '--data', data, '--judge-model', 'x'], /--judge-model needs --judge URL/],
    [['eval', 'merge', '--out', join(dir, 'm'), join(dir, 'a')], /at least two stores/],
    [['eval', 'merge', '--out', join(dir, 'm'), join(dir, 'a'), join(dir, 'b')], /a: no such results store/],
    [['eval', 'report', '--results', notStore], /not-a-store\.sqlite: (not a minivl eval results store|cannot open)/],
    [['eval', 'report', '--results', dir, '--compare', 'paper'], /--compare takes 'published'/],
  ];
  const results = minivlBatch(cases.map(([args]) => args));
  results.forEach((r, i) => {
    const [args, re] = cases[i]!;
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^minivl: error: [^\n]*\n$/, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
  });
});

test('--help of each subcommand', () => {
  const r = minivlBatch([['eval', 'run', '--help'], ['eval', 'merge', '--help'], ['eval', 'report', '--help']]);
  assert.match(r[0]!.stdout, /^usage: minivl eval run --model DIR\|REPO --bench NAME\[,NAME\.\.\.\] --data DIR \[--out DIR\] \[--limit N\] \[--shard k\/n\]/);
  assert.match(r[1]!.stdout, /^usage: minivl eval merge --out DIR/);
  assert.match(r[2]!.stdout, /^usage: minivl eval report --results DIR/);
  for (const x of r) assert.equal(x.status, 0);
});
