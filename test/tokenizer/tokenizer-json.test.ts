import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOLDEN } from '../helpers/paths.ts';
import { loadTokenizer } from '../../src/tokenizer/index.ts';
import { assetDir, readJson, tempTokenizerDir } from './helpers.ts';

const golden = JSON.parse(readFileSync(join(GOLDEN, 'tokenizers', 'tokenizer_golden.json'), 'utf8'));

/** The fast-tokenizer form of the 1b files (what transformers writes for Qwen2). */
function qwen2TokenizerJson(): string {
  const dir = assetDir('1b');
  const config = readJson(join(dir, 'tokenizer_config.json'));
  const merges = readFileSync(join(dir, 'merges.txt'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#version'));
  const addedTokens = Object.entries(config.added_tokens_decoder).map(([id, t]) => ({ id: Number(id), ...(t as object) }));
  const pattern = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  return JSON.stringify({
    version: '1.0',
    added_tokens: addedTokens,
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: { type: 'BPE', vocab: readJson(join(dir, 'vocab.json')), merges, byte_fallback: false, ignore_merges: false },
  });
}

test('a folder with only tokenizer.json (+ config) reproduces the 1b goldens', async () => {
  const { dir, cleanup } = tempTokenizerDir({ from: assetDir('1b'), names: ['tokenizer_config.json'] }, { 'tokenizer.json': qwen2TokenizerJson() });
  try {
    const tok = await loadTokenizer(dir);
    const g = golden.tokenizers['1b'].slow;
    assert.equal(tok.vocabSize, 151655);
    assert.equal(tok.eosId, 151645);
    assert.equal(tok.tokenToId('<IMG_CONTEXT>'), 151648);
    golden.texts.forEach((text: string, i: number) => {
      assert.deepEqual(tok.encode(text), g.ids[i], `ids of text ${i}`);
      assert.equal(tok.decode(g.ids[i], { skipSpecialTokens: true }), g.decoded_skip_special[i], `decode(skip) of text ${i}`);
      assert.equal(tok.decode(g.ids[i]), g.decoded_keep_special[i], `decode(keep) of text ${i}`);
    });
    const s = tok.createStreamDecoder({ skipSpecialTokens: true });
    const ids = g.ids[14];
    assert.equal(ids.map((id: number) => s.push(id)).join('') + s.flush(), g.decoded_skip_special[14]);
  } finally {
    cleanup();
  }
});
