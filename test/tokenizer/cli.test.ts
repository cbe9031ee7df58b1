import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GOLDEN, ROOT } from '../helpers/paths.ts';
import { assetDir } from './helpers.ts';

const goldenFile = join(GOLDEN, 'tokenizers', 'tokenizer_golden.json');
const golden = JSON.parse(readFileSync(goldenFile, 'utf8'));
const minivl = (...args: string[]) => spawnSync(process.execPath, ['bin/minivl.mjs', ...args], { cwd: ROOT, encoding: 'utf8' });

test('minivl tokenize prints the golden ids (golden-file object form)', () => {
  const r = minivl('tokenize', '--tokenizer', assetDir('2b'), '--texts', goldenFile);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), golden.tokenizers['2b'].ids);
});

test('minivl tokenize takes a plain JSON array and reports bad input in one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'minivl-cli-'));
  try {
    const texts = join(dir, 'texts.json');
    writeFileSync(texts, JSON.stringify(golden.texts.slice(0, 3)));
    const r = minivl('tokenize', '--tokenizer', assetDir('4b'), '--texts', texts);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), golden.tokenizers['4b'].slow.ids.slice(0, 3));

    writeFileSync(texts, '{"texts": [1, 2]}');
    const bad = minivl('tokenize', '--tokenizer', assetDir('4b'), '--texts', texts);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^minivl: error: .*texts\.json: text 0 is not a string\n$/);

    writeFileSync(texts, '["hi"]');
    const noDir = minivl('tokenize', '--tokenizer', dir, '--texts', texts);
    assert.equal(noDir.status, 1);
    assert.match(noDir.stderr, /^minivl: error: .*no tokenizer files.*\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
