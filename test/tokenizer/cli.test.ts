import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { minivl, minivlBatch } from '../helpers/cli.ts';
import { GOLDEN } from '../helpers/paths.ts';
import { tempDir } from '../helpers/tmp.ts';
import { assetDir } from './helpers.ts';

const goldenFile = join(GOLDEN, 'tokenizers', 'tokenizer_golden.json');
const golden = JSON.parse(readFileSync(goldenFile, 'utf8'));

test('minivl tokenize prints the golden ids (golden-file object form)', () => {
  const r = minivl('tokenize', '--tokenizer', assetDir('2b'), '--texts', goldenFile);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), golden.tokenizers['2b'].ids);
});

test('minivl tokenize takes a plain JSON array and reports bad input in one line', async () => {
  const dir = await tempDir('minivl-cli-');
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
});

test('minivl tokenize: missing, malformed and misplaced files are one line naming the flag or file', async () => {
  const dir = await tempDir('minivl-cli-');
  const tok = assetDir('1b');
  const malformed = join(dir, 'malformed.json');
  writeFileSync(malformed, '["a"');
  const ok = join(dir, 'ok.json');
  writeFileSync(ok, '["a"]');
  const rs = minivlBatch([
    ['tokenize', '--tokenizer', tok, '--texts', malformed],
    ['tokenize', '--tokenizer', tok, '--texts', join(dir, 'none.json')],
    ['tokenize', '--tokenizer', tok, '--texts', dir],
    ['tokenize', '--tokenizer', join(tok, 'vocab.json'), '--texts', ok],
    ['tokenize', '--tokenizer', join(dir, 'none'), '--texts', ok],
    ['tokenize', '--texts', ok],
  ]);
  assert.deepEqual(rs.map((r) => [r.status, r.stdout]), rs.map(() => [1, '']));
  // The parser's own words (V8's) differ between Node versions; the file and 'malformed JSON' do not.
  assert.match(rs[0]!.stderr, new RegExp(`^minivl: error: ${malformed}: malformed JSON \\([^\\n]+\\)\\n$`));
  assert.deepEqual(rs.slice(1).map((r) => r.stderr), [
    `minivl: error: --texts ${join(dir, 'none.json')}: no such file\n`,
    `minivl: error: --texts ${dir}: is a folder, expected a file\n`,
    `minivl: error: --tokenizer ${join(tok, 'vocab.json')}: is a file, expected a folder\n`,
    `minivl: error: --tokenizer ${join(dir, 'none')}: no such folder\n`,
    'minivl: error: --tokenizer is required (usage: minivl tokenize --tokenizer DIR --texts FILE.json [--no-special-tokens])\n',
  ]);
});
