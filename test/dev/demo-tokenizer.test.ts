// The generated tokenizer of demo checkpoints: read by the real loader, in the released Qwen2 layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeRandomCheckpoint } from '../../src/dev/random-checkpoint.ts';
import { demoTokenizerFiles } from '../../src/dev/demo-tokenizer.ts';
import { loadTokenizer } from '../../src/tokenizer/index.ts';
import { tempDir } from '../helpers/tmp.ts';

test('a demo checkpoint without --tokenizer gets a generated Qwen2-layout tokenizer the loader reads', async () => {
  const out = join(await tempDir('minivl-demo-tok-'), 'm');
  const r = await writeRandomCheckpoint({ like: 'internvl2-1b', tiny: true, out });
  assert.deepEqual(readdirSync(out).sort(), ['added_tokens.json', 'config.json', 'merges.txt', 'model.safetensors', 'tokenizer_config.json', 'vocab.json']);
  assert.deepEqual(r.files.slice(0, 2), ['config.json', 'model.safetensors']);
  const tok = await loadTokenizer(out);
  // The added tokens take the last ids of the model's 151655-row vocabulary, as Qwen2's do.
  assert.equal(tok.tokenToId('<|endoftext|>'), 151655 - 16);
  assert.equal(tok.tokenToId('</box>'), 151654);
  const text = 'Describe the image: <img><IMG_CONTEXT></img> — 猫, 42!';
  const ids = tok.encode(text);
  assert.equal(tok.decode(ids), text);
  assert.ok(ids.includes(tok.tokenToId('<IMG_CONTEXT>')!));
  // Every id decodes (a random model emits any of them); syllable words read as words.
  assert.equal(tok.decode([300, 5000, 151000]).length > 0, true);
  assert.match(tok.decode([tok.encode(' ka')[0]!]), /^ ka$/);
  assert.equal(tok.encode(' kabo').length, 1);
});

test('demo tokenizer files are deterministic and fill the vocabulary exactly', () => {
  const a = demoTokenizerFiles(1000);
  assert.deepEqual(a, demoTokenizerFiles(1000));
  assert.equal(a.baseSize, 984);
  const vocab = JSON.parse(a.files['vocab.json']!) as Record<string, number>;
  assert.deepEqual(Object.values(vocab).sort((x, y) => x - y), Array.from({ length: 984 }, (_, i) => i));
  const added = JSON.parse(a.files['added_tokens.json']!) as Record<string, number>;
  assert.equal(Object.keys(added).length, 16);
  assert.equal(Math.min(...Object.values(added)), 984);
  assert.throws(() => demoTokenizerFiles(100), /too small/);
});
