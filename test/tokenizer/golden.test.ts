import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASSETS, GOLDEN } from '../helpers/paths.ts';
import { loadTokenizer } from '../../src/tokenizer/index.ts';
import { parseSentencePieceModel } from '../../src/tokenizer/sentencepiece-model.ts';
import { SentencePieceBpe } from '../../src/tokenizer/sentencepiece-bpe.ts';

const golden = JSON.parse(readFileSync(join(GOLDEN, 'tokenizers', 'tokenizer_golden.json'), 'utf8'));
const texts: string[] = golden.texts;
const dir = (k: string) => join(ASSETS, 'tokenizers', `internvl2-${k}`);

test('the golden file has 62 texts', () => {
  assert.equal(texts.length, 62);
});

for (const k of ['1b', '4b']) {
  test(`${k}: ids, decode(skip) and decode(keep) equal the goldens for all texts`, async () => {
    const tok = await loadTokenizer(dir(k));
    const g = golden.tokenizers[k].slow;
    assert.equal(tok.vocabSize, g.vocab_len);
    assert.equal(tok.tokenToId('<IMG_CONTEXT>'), g.img_context_id);
    texts.forEach((text, i) => {
      assert.deepEqual(tok.encode(text), g.ids[i], `ids of text ${i} ${JSON.stringify(text.slice(0, 40))}`);
      assert.equal(tok.decode(g.ids[i], { skipSpecialTokens: true }), g.decoded_skip_special[i], `decode(skip) of text ${i}`);
      assert.equal(tok.decode(g.ids[i], { skipSpecialTokens: false }), g.decoded_keep_special[i], `decode(keep) of text ${i}`);
    });
  });
}

test('2b: wrapper ids equal the goldens for all texts', async () => {
  const tok = await loadTokenizer(dir('2b'));
  assert.equal(tok.vocabSize, 92553);
  texts.forEach((text, i) => {
    assert.deepEqual(tok.encode(text), golden.tokenizers['2b'].ids[i], `ids of text ${i} ${JSON.stringify(text.slice(0, 40))}`);
  });
});

for (const k of ['2b', '4b']) {
  test(`${k}: bare SentencePiece ids, pieces (and 2b's decoded text) equal sentencepiece_raw`, () => {
    const file = join(dir(k), 'tokenizer.model');
    const sp = new SentencePieceBpe(parseSentencePieceModel(readFileSync(file), file), 'score', file);
    const raw = golden.tokenizers[k].sentencepiece_raw;
    texts.forEach((text, i) => {
      const ids = sp.encodeNormalized(sp.normalize(text, sp.model.addDummyPrefix));
      assert.deepEqual(ids, raw.ids[i], `raw ids of text ${i}`);
      assert.deepEqual(ids.map((id) => sp.idToPiece(id)), raw.pieces[i], `raw pieces of text ${i}`);
      if (k === '2b') assert.equal(sp.decode(ids), golden.tokenizers['2b'].raw_decoded[i], `raw decode of text ${i}`);
    });
  });
}
