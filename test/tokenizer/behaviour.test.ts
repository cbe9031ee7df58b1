import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadTokenizer } from '../../src/tokenizer/index.ts';
import { assetDir, readJson, tempTokenizerDir } from './helpers.ts';

const IMG = '<IMG_CONTEXT>';

test('1b: special ids, lookups and a 3,072-image-token prompt', async () => {
  const tok = await loadTokenizer(assetDir('1b'));
  assert.equal(tok.bosId, undefined);
  assert.equal(tok.eosId, 151645);
  assert.equal(tok.padId, 151643);
  assert.equal(tok.vocabSize, 151655);
  assert.equal(tok.tokenToId('<img>'), 151646);
  assert.equal(tok.idToToken(151648), IMG);
  assert.equal(tok.tokenToId('Ġworld'), tok.encode(' world')[0]);
  assert.equal(tok.idToToken(999999), undefined);
  assert.equal(tok.tokenToId('no such token'), undefined);
  for (let id = 151643; id <= 151654; id++) assert.ok(tok.specialIds.has(id));
  const prompt = `<|im_start|>user\n<img>${IMG.repeat(3072)}</img>\nDescribe.<|im_end|>`;
  const ids = tok.encode(prompt);
  assert.equal(ids.filter((id) => id === 151648).length, 3072);
  assert.deepEqual(ids.slice(0, 4), [151644, 872, 198, 151646]);
  assert.equal(tok.decode(ids), prompt);
});

test('2b: BOS per class default, HF names of renamed pieces, the NUL piece', async () => {
  const tok = await loadTokenizer(assetDir('2b'));
  assert.equal(tok.bosId, 1);
  assert.equal(tok.eosId, 2);
  assert.deepEqual(tok.encode('Hello'), [1, 9843]);
  assert.deepEqual(tok.encode('Hello', { addSpecialTokens: false }), [9843]);
  assert.equal(tok.idToToken(92543), '<|im_start|>');
  assert.equal(tok.tokenToId('<|im_end|>'), 92542);
  assert.equal(tok.tokenToId('[UNUSED_TOKEN_146]'), 92543); // the SentencePiece name still resolves
  assert.equal(tok.idToToken(354), '\u0000');
  assert.deepEqual(tok.encode('a\u0000b', { addSpecialTokens: false }), [264, 354, 260]);
  assert.equal(tok.decode([264, 354, 260]), 'a\u0000b');
  // clean_up_tokenization is always applied by the InternLM2 wrapper.
  assert.equal(tok.decode(tok.encode("isn't it ?"), { skipSpecialTokens: true }), "isn't it?");
});

test('4b: BOS, Phi-3 chat tokens and the image-token layout', async () => {
  const tok = await loadTokenizer(assetDir('4b'));
  assert.equal(tok.bosId, 1);
  assert.equal(tok.eosId, 32000);
  assert.equal(tok.padId, 32000);
  assert.equal(tok.tokenToId('<|end|>'), 32007);
  const ids = tok.encode(`<|user|>\n<img>${IMG.repeat(3)}</img>\nHi<|end|><|assistant|>\n`);
  assert.deepEqual(ids, [1, 32010, 32011, 32013, 32013, 32013, 32012, 13, 18567, 32007, 32001]);
});

test('4b: behaviour flags are read from tokenizer_config.json', async () => {
  const base = readJson(join(assetDir('4b'), 'tokenizer_config.json'));
  const variant = (edit: (c: any) => void) => {
    const c = structuredClone(base);
    edit(c);
    return tempTokenizerDir({ from: assetDir('4b'), names: ['tokenizer.model'] }, { 'tokenizer_config.json': JSON.stringify(c) });
  };
  const cases: [string, (c: any) => void, string, number[]][] = [
    ['as shipped', () => {}, '<|user|>\nhi', [1, 32010, 2918]],
    ['rstrip false keeps the newline', (c) => (c.added_tokens_decoder['32010'].rstrip = false), '<|user|>\nhi', [1, 32010, 13, 2918]],
    ['lstrip true eats the space before', (c) => (c.added_tokens_decoder['32007'].lstrip = true), 'hi <|end|>', [1, 7251, 32007]],
    ['add_bos_token false', (c) => (c.add_bos_token = false), 'hi', [7251]],
    ['add_eos_token true', (c) => (c.add_eos_token = true), 'hi', [1, 7251, 32000]],
    ['legacy true prefixes every segment', (c) => (c.legacy = true), '<|user|>hi', [1, 32010, 7251]],
    ['add_prefix_space false', (c) => (c.add_prefix_space = false), 'hi', [1, 2918]],
  ];
  for (const [name, edit, text, expected] of cases) {
    const { dir, cleanup } = variant(edit);
    try {
      const tok = await loadTokenizer(dir);
      assert.deepEqual(tok.encode(text), expected, name);
    } finally {
      cleanup();
    }
  }
});

test('1b: added_tokens.json and special_tokens_map.json are honoured without tokenizer_config.json', async () => {
  const { dir, cleanup } = tempTokenizerDir(
    { from: assetDir('1b'), names: ['vocab.json', 'merges.txt', 'added_tokens.json'] },
    { 'special_tokens_map.json': JSON.stringify({ eos_token: '<|im_end|>', additional_special_tokens: ['<img>'] }) },
  );
  try {
    const tok = await loadTokenizer(dir);
    assert.deepEqual(tok.encode('a<img>b<|im_end|>'), [64, 151646, 65, 151645]);
    assert.equal(tok.eosId, 151645);
    assert.ok(tok.specialIds.has(151646) && tok.specialIds.has(151645));
    assert.ok(!tok.specialIds.has(151648)); // added_tokens.json alone does not make a token special
    assert.equal(tok.decode([64, 151646, 151648, 65], { skipSpecialTokens: true }), 'a<IMG_CONTEXT>b');
  } finally {
    cleanup();
  }
});

test('a bare tokenizer.model with special_tokens_map.json: SentencePiece rules, named specials not split', async () => {
  const { dir, cleanup } = tempTokenizerDir(
    { from: assetDir('4b'), names: ['tokenizer.model'] },
    { 'special_tokens_map.json': JSON.stringify({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' }) },
  );
  try {
    const tok = await loadTokenizer(dir);
    // No tokenizer class: each segment goes through SentencePiece itself (dummy prefix per segment).
    assert.deepEqual(tok.encode('hi</s>hi'), [1, 7251, 2, 7251]);
    assert.equal(tok.vocabSize, 32000);
    assert.equal(tok.decode([1, 7251, 2], { skipSpecialTokens: true }), 'hi');
  } finally {
    cleanup();
  }
});
