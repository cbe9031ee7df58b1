import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOLDEN } from '../helpers/paths.ts';
import { loadTokenizer } from '../../src/tokenizer/index.ts';
import { assetDir, qwen2TokenizerJson, tempTokenizerDir } from './helpers.ts';

const golden = JSON.parse(readFileSync(join(GOLDEN, 'tokenizers', 'tokenizer_golden.json'), 'utf8'));

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
