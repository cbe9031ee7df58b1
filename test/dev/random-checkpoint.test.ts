import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MinivlError } from '../../src/errors.ts';
import { openCheckpoint } from '../../src/io/checkpoint.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { expectedTensors, validateCheckpoint } from '../../src/model/inventory.ts';
import { randomCheckpointConfig, valueKind, writeRandomCheckpoint } from '../../src/dev/random-checkpoint.ts';
import { minivl } from '../helpers/cli.ts';
import { ROOT, shared } from '../helpers/paths.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = () => tempDir('minivl-rc-');

const LAYOUTS = [
  { like: 'internvl2-1b', tok: 'internvl2-1b', vocab: 151655, kv: 2, shards: 1, lm: 'language_model.lm_head.weight', embed: 'language_model.model.embed_tokens.weight' },
  { like: 'internvl2-2b', tok: 'internvl2-2b', vocab: 92553, kv: 2, shards: 1, lm: 'language_model.output.weight', embed: 'language_model.model.tok_embeddings.weight' },
  { like: 'internvl2-4b', tok: 'internvl2-4b', vocab: 32020, kv: 4, shards: 2, lm: 'language_model.lm_head.weight', embed: 'language_model.model.embed_tokens.weight' },
];

function stats(x: Float32Array): { mean: number; std: number } {
  let s = 0;
  for (const v of x) s += v;
  const mean = s / x.length;
  let q = 0;
  for (const v of x) q += (v - mean) ** 2;
  return { mean, std: Math.sqrt(q / x.length) };
}

for (const L of LAYOUTS) {
  test(`tiny ${L.like}: released layout, real vocab and tokenizer, round-trips through openCheckpoint + validateCheckpoint`, async () => {
    const out = join(await tmp(), 'ckpt');
    const r = await writeRandomCheckpoint({ like: L.like, tiny: true, seed: 1, out, tokenizerDir: shared('assets/tokenizers', L.tok) });
    const ckpt = await openCheckpoint(out);
    const cfg = parseModelConfig(ckpt.configJson, 'test');
    const report = validateCheckpoint(ckpt, cfg);
    assert.deepEqual(report.unexpected, []);
    assert.equal(report.lmHeadFromEmbedding, false);
    assert.equal(cfg.llm.vocabSize, L.vocab);
    assert.deepEqual([cfg.vision.hiddenSize, cfg.vision.numLayers, cfg.vision.numHeads], [64, 2, 4]);
    assert.deepEqual([cfg.llm.hiddenSize, cfg.llm.numLayers, cfg.llm.numHeads, cfg.llm.numKvHeads], [64, 2, 4, L.kv]);
    assert.deepEqual(ckpt.tensor(L.embed).shape, [L.vocab, 64]);
    assert.equal(ckpt.names().length, expectedTensors(cfg).length);
    assert.equal(r.tensors, ckpt.names().length);
    for (const n of ckpt.names()) assert.equal(ckpt.tensor(n).dtype, 'BF16');
    // The released file layout: one model.safetensors, or two shards + index (the 4B).
    assert.equal(ckpt.files.length, L.shards);
    assert.equal(existsSync(join(out, 'model.safetensors.index.json')), L.shards > 1);
    if (L.shards > 1) {
      const index = JSON.parse(readFileSync(join(out, 'model.safetensors.index.json'), 'utf8'));
      assert.equal(index.metadata.total_size, r.tensorBytes);
      assert.deepEqual(Object.keys(index.weight_map), [...Object.keys(index.weight_map)].sort());
    }
    // Real tokenizer files, byte for byte.
    for (const f of readdirSync(shared('assets/tokenizers', L.tok))) {
      assert.deepEqual(readFileSync(join(out, f)), readFileSync(shared('assets/tokenizers', L.tok, f)), f);
    }
    // Values: norms ≈ 1, weights ≈ N(0, 0.02), layer scales ≈ 0.1.
    const norm = stats(await ckpt.readFloat32('language_model.model.norm.weight'));
    assert.ok(Math.abs(norm.mean - 1) < 0.02 && norm.std > 0.005 && norm.std < 0.04, JSON.stringify(norm));
    const w = stats(await ckpt.readFloat32(L.embed));
    assert.ok(Math.abs(w.mean) < 0.001 && Math.abs(w.std - 0.02) < 0.001, JSON.stringify(w));
    const ls = stats(await ckpt.readFloat32('vision_model.encoder.layers.0.ls1'));
    assert.ok(Math.abs(ls.mean - 0.1) < 0.01, JSON.stringify(ls));
    assert.equal(readdirSync(out).some((f) => f.includes('tmp') || f.includes('partial')), false);
  });
}

test('same seed → identical files (also when streamed in chunks); another seed differs; tied 1B head = embedding', async () => {
  const root = await tmp();
  const a = join(root, 'a');
  const b = join(root, 'b');
  const c = join(root, 'c');
  await writeRandomCheckpoint({ like: 'internvl2-1b', tiny: true, seed: 7, out: a });
  await writeRandomCheckpoint({ like: 'internvl2-1b', tiny: true, seed: 7, out: b, streamAboveBytes: 0 });
  await writeRandomCheckpoint({ like: 'internvl2-1b', tiny: true, seed: 8, out: c });
  const A = await readFile(join(a, 'model.safetensors'));
  assert.ok(A.equals(await readFile(join(b, 'model.safetensors'))), 'in-memory and streaming writers agree');
  assert.ok(!A.equals(await readFile(join(c, 'model.safetensors'))));
  const ck = await openCheckpoint(a);
  const cfg = parseModelConfig(ck.configJson, 'a');
  assert.equal(cfg.llm.tieWordEmbeddings, true);
  assert.deepEqual(await ck.readBytes('language_model.lm_head.weight'), await ck.readBytes('language_model.model.embed_tokens.weight'));
});

test('a sharded 4B written by the streaming path matches the in-memory one', async () => {
  const root = await tmp();
  await writeRandomCheckpoint({ like: 'internvl2-4b', tiny: true, seed: 3, out: join(root, 'm') });
  await writeRandomCheckpoint({ like: 'internvl2-4b', tiny: true, seed: 3, out: join(root, 's'), streamAboveBytes: 0 });
  for (const f of ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']) {
    assert.ok((await readFile(join(root, 'm', f))).equals(await readFile(join(root, 's', f))), f);
  }
});

test('refuses a non-empty --out (nothing is touched) and unknown --like; an empty folder is fine', async () => {
  const root = await tmp();
  const full = join(root, 'full');
  await mkdir(full);
  await writeFile(join(full, 'mine.txt'), 'keep me');
  await assert.rejects(writeRandomCheckpoint({ like: 'internvl2-2b', tiny: true, out: full }), (e: unknown) => e instanceof MinivlError && /not empty/.test(e.message));
  assert.deepEqual(readdirSync(full), ['mine.txt']);
  assert.equal(readFileSync(join(full, 'mine.txt'), 'utf8'), 'keep me');
  await assert.rejects(writeRandomCheckpoint({ like: 'internvl9-1b', tiny: true, out: join(root, 'x') }), /unknown --like 'internvl9-1b'/);
  const empty = join(root, 'empty');
  await mkdir(empty);
  await writeRandomCheckpoint({ like: 'internvl2-2b', tiny: true, out: empty });
  assert.ok(existsSync(join(empty, 'model.safetensors')));
  assert.deepEqual(readdirSync(root).sort(), ['empty', 'full']); // no temporary folders left
});

test('tiny config keeps the released structure; full-size configs (package data) are the fixtures; value kinds', async () => {
  const fixtures = readdirSync(join(ROOT, 'test/fixtures/configs')).filter((f) => f.endsWith('.json'));
  assert.equal(fixtures.length, 5);
  for (const f of fixtures) {
    const like = f.replace(/\.json$/, '');
    assert.deepEqual(await randomCheckpointConfig(like, false), JSON.parse(readFileSync(join(ROOT, 'test/fixtures/configs', f), 'utf8')), like);
  }
  const tiny = (await randomCheckpointConfig('internvl2-4b', true)) as any;
  assert.equal(tiny.llm_config.rope_scaling.short_factor.length, 8);
  assert.equal(tiny.llm_config.vocab_size, 32020);
  assert.equal(tiny.template, 'phi3-chat');
  assert.equal(valueKind('vision_model.encoder.layers.3.norm1.weight'), 'norm');
  assert.equal(valueKind('vision_model.encoder.layers.3.norm1.bias'), 'weight');
  assert.equal(valueKind('language_model.model.layers.0.attention_norm.weight'), 'norm');
  assert.equal(valueKind('mlp1.0.weight'), 'norm');
  assert.equal(valueKind('vision_model.encoder.layers.0.ls2'), 'layerScale');
  assert.equal(valueKind('language_model.model.layers.0.mlp.down_proj.weight'), 'weight');
});

test('CLI: minivl dev random-checkpoint writes a checkpoint and prints a JSON line; errors are one line', async () => {
  const root = await tmp();
  const out = join(root, 'cli');
  const r = minivl('dev', 'random-checkpoint', '--like', 'internvl2-2b', '--tiny', '--seed', '5', '--tokenizer', shared('assets/tokenizers/internvl2-2b'), '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.out, out);
  assert.ok(j.files.includes('model.safetensors') && j.files.includes('tokenizer.model'));
  const again = minivl('dev', 'random-checkpoint', '--like', 'internvl2-2b', '--tiny', '--out', out);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /^minivl: error: random checkpoint: --out .* is not empty; refusing to overwrite it\n$/);
  const bad = minivl('dev', 'random-checkpoint', '--out', join(root, 'y'));
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^minivl: error: --like is required \(usage: minivl dev random-checkpoint --like NAME/);
});

test('an aborted write leaves neither --out nor a temporary folder', async () => {
  const root = await tmp();
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(
    writeRandomCheckpoint({ like: 'internvl2-4b', tiny: true, out: join(root, 'x'), signal: ac.signal, streamAboveBytes: 0 }),
    (e: unknown) => e instanceof MinivlError && /interrupted/.test(e.message),
  );
  assert.deepEqual(readdirSync(root), []);
});
