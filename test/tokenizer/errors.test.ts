import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MinivlError } from '../../src/errors.ts';
import { loadTokenizer } from '../../src/tokenizer/index.ts';
import { assetDir, tempTokenizerDir } from './helpers.ts';

/** Loading `dir` must fail with a one-line MinivlError whose message names `file` (matched as a regex). */
async function assertLoadFails(dir: string, file: RegExp, problem: RegExp) {
  await assert.rejects(loadTokenizer(dir), (e: unknown) => {
    assert.ok(e instanceof MinivlError, `expected MinivlError, got ${(e as Error)?.stack}`);
    assert.ok(!e.message.includes('\n'), `message is not one line: ${e.message}`);
    assert.match(e.message, file);
    assert.match(e.message, problem);
    return true;
  });
}

const realModel = readFileSync(join(assetDir('4b'), 'tokenizer.model'));

test('a folder without tokenizer files', async () => {
  const { dir, cleanup } = tempTokenizerDir({ from: assetDir('4b'), names: [] }, { 'config.json': '{}' });
  try {
    await assertLoadFails(dir, new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), /no tokenizer files/);
  } finally {
    cleanup();
  }
});

test('a missing folder, and vocab.json without merges.txt', async () => {
  await assertLoadFails('/nonexistent/minivl-tokenizer', /\/nonexistent\/minivl-tokenizer/, /no such tokenizer folder/);
  const { dir, cleanup } = tempTokenizerDir({ from: assetDir('1b'), names: ['vocab.json'] });
  try {
    await assertLoadFails(dir, /merges\.txt/, /missing/);
  } finally {
    cleanup();
  }
});

test('corrupt tokenizer.model files', async () => {
  const corrupt: Record<string, Uint8Array> = {
    truncated: realModel.subarray(0, 5000),
    garbage: Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) & 0xff),
    text: new TextEncoder().encode('this is not a protobuf\n'),
    empty: new Uint8Array(0),
  };
  for (const [name, bytes] of Object.entries(corrupt)) {
    const { dir, cleanup } = tempTokenizerDir({ from: assetDir('4b'), names: ['tokenizer_config.json'] }, { 'tokenizer.model': bytes });
    try {
      await assertLoadFails(dir, /tokenizer\.model/, /not a valid SentencePiece model/);
    } catch (e) {
      throw new Error(`${name}: ${(e as Error).message}`);
    } finally {
      cleanup();
    }
  }
});

test('malformed JSON in each file is reported with its name', async () => {
  const cases: [string, string[], string][] = [
    ['tokenizer_config.json', ['tokenizer.model'], '{"add_bos_token": tru'],
    ['added_tokens.json', ['tokenizer.model', 'tokenizer_config.json'], '{"<img>": 32011,'],
    ['special_tokens_map.json', ['tokenizer.model', 'tokenizer_config.json'], '[1, 2'],
  ];
  for (const [file, links, content] of cases) {
    const { dir, cleanup } = tempTokenizerDir({ from: assetDir('4b'), names: links }, { [file]: content });
    try {
      await assertLoadFails(dir, new RegExp(file.replace('.', '\\.')), /malformed JSON/);
    } finally {
      cleanup();
    }
  }
  const bad = tempTokenizerDir({ from: assetDir('1b'), names: ['merges.txt'] }, { 'vocab.json': '{"a": 0, ' });
  try {
    await assertLoadFails(bad.dir, /vocab\.json/, /malformed JSON/);
  } finally {
    bad.cleanup();
  }
  const badJson = tempTokenizerDir({ from: assetDir('1b'), names: [] }, { 'tokenizer.json': '{"model": ' });
  try {
    await assertLoadFails(badJson.dir, /tokenizer\.json/, /malformed JSON/);
  } finally {
    badJson.cleanup();
  }
});

test('well-formed JSON with wrong content is reported too', async () => {
  const { dir, cleanup } = tempTokenizerDir(
    { from: assetDir('4b'), names: ['tokenizer.model'] },
    { 'tokenizer_config.json': JSON.stringify({ add_bos_token: 'yes' }) },
  );
  try {
    await assertLoadFails(dir, /tokenizer_config\.json/, /add_bos_token/);
  } finally {
    cleanup();
  }
});
