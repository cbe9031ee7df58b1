import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GOLDEN } from '../helpers/paths.ts';
import { openCheckpoint } from '../../src/io/checkpoint.ts';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../src/io/safetensors.ts';
import { tempDir, rejectsWith } from '../helpers/tmp.ts';

const QWEN2 = join(GOLDEN, 'models/qwen2');

/** Splits the golden qwen2 checkpoint into two shards plus an index, in a temp folder. */
async function makeSharded(dir: string): Promise<{ names: string[] }> {
  const f = await SafetensorsFile.open(join(QWEN2, 'model.safetensors'));
  const names = f.names();
  const half = Math.ceil(names.length / 2);
  const shards = [names.slice(0, half), names.slice(half)];
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (const [i, part] of shards.entries()) {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    const ts: TensorToWrite[] = [];
    for (const n of part) {
      const t = f.info(n);
      ts.push({ name: n, dtype: t.dtype, shape: t.shape, data: await f.readBytes(n) });
      weightMap[n] = file;
      total += t.byteLength;
    }
    await writeSafetensors(join(dir, file), ts, { format: 'pt' });
  }
  await copyFile(join(QWEN2, 'config.json'), join(dir, 'config.json'));
  await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
  return { names };
}

test('single-file golden checkpoints open with config and all tensors', async () => {
  for (const [fam, count] of [['qwen2', 65], ['internlm2', 55], ['phi3', 53]] as const) {
    const dir = join(GOLDEN, 'models', fam);
    const ck = await openCheckpoint(dir);
    assert.equal(ck.files.length, 1);
    assert.equal(ck.indexFile, null);
    assert.equal(ck.names().length, count);
    assert.equal((ck.configJson as { llm_config: { model_type: string } }).llm_config.model_type, fam);
    const name = 'vision_model.embeddings.patch_embedding.weight';
    assert.ok(ck.has(name));
    assert.deepEqual(ck.tensor(name).shape, [64, 3, 14, 14]);
    const x = await ck.readFloat32(name);
    assert.deepEqual(x, await ck.files[0]!.readFloat32(name));
  }
});

test('missing tensor: one line naming the checkpoint and the tensor', async () => {
  const ck = await openCheckpoint(QWEN2);
  assert.equal(ck.has('language_model.output.weight'), false);
  await rejectsWith(async () => ck.tensor('language_model.output.weight'), /models\/qwen2: checkpoint has no tensor 'language_model\.output\.weight'/);
  await rejectsWith(ck.readFloat32('nope'), /checkpoint has no tensor 'nope'/);
});

test('sharded checkpoint: index maps every tensor to its shard', async () => {
  const dir = await tempDir();
  const { names } = await makeSharded(dir);
  const ck = await openCheckpoint(dir);
  const single = await openCheckpoint(QWEN2);
  assert.equal(ck.files.length, 2);
  assert.equal(ck.indexFile, join(dir, 'model.safetensors.index.json'));
  assert.deepEqual(new Set(ck.names()), new Set(names));
  for (const n of names) {
    assert.deepEqual(await ck.readFloat32(n), await single.readFloat32(n), n);
    assert.equal(ck.tensor(n).file, ck.fileOf(n).path);
  }
  assert.notEqual(ck.fileOf(names[0]!).path, ck.fileOf(names.at(-1)!).path);
});

test('sharded checkpoint errors name the index and the shard or tensor', async () => {
  const dir = await tempDir();
  await makeSharded(dir);
  const indexPath = join(dir, 'model.safetensors.index.json');
  const index = JSON.parse(await readFile(indexPath, 'utf8'));

  const missing = structuredClone(index);
  missing.weight_map['language_model.lm_head.weight'] = 'model-00003-of-00002.safetensors';
  await writeFile(indexPath, JSON.stringify(missing));
  await rejectsWith(openCheckpoint(dir), /model\.safetensors\.index\.json: shard 'model-00003-of-00002\.safetensors' is missing/);

  const wrong = structuredClone(index);
  const first = Object.keys(wrong.weight_map)[0]!;
  wrong.weight_map[first] = 'model-00002-of-00002.safetensors';
  await writeFile(indexPath, JSON.stringify(wrong));
  await rejectsWith(openCheckpoint(dir), /index\.json: tensor '.*' is mapped to shard 'model-00002-of-00002\.safetensors', which does not contain it/);

  const escape = structuredClone(index);
  escape.weight_map[first] = '../elsewhere.safetensors';
  await writeFile(indexPath, JSON.stringify(escape));
  await rejectsWith(openCheckpoint(dir), /index\.json: shard '\.\.\/elsewhere\.safetensors' .* is outside the checkpoint folder/);

  await writeFile(indexPath, JSON.stringify({ metadata: {} }));
  await rejectsWith(openCheckpoint(dir), /index\.json: no "weight_map" object/);

  await writeFile(indexPath, '{"weight_map": ');
  await rejectsWith(openCheckpoint(dir), /model\.safetensors\.index\.json: invalid JSON/);
});

test('missing config.json, missing weights and missing folder are one-line errors', async () => {
  const dir = await tempDir();
  await rejectsWith(openCheckpoint(dir), /config\.json: missing \(not a checkpoint folder\?\)/);
  await writeFile(join(dir, 'config.json'), '{ not json');
  await rejectsWith(openCheckpoint(dir), /config\.json: invalid JSON/);
  await copyFile(join(QWEN2, 'config.json'), join(dir, 'config.json'));
  await rejectsWith(openCheckpoint(dir), /no model\.safetensors or model\.safetensors\.index\.json in the checkpoint folder/);
  await rejectsWith(openCheckpoint(join(dir, 'nope')), /nope: no such checkpoint folder/);
  await rejectsWith(openCheckpoint(join(dir, 'config.json')), /config\.json: not a folder/);
});

test('Hugging Face cache layout: symlinked snapshot files resolve to the real blobs', async () => {
  const root = await tempDir();
  const blobs = join(root, 'models--OpenGVLab--tiny/blobs');
  const snap = join(root, 'models--OpenGVLab--tiny/snapshots/0123abc');
  await mkdir(blobs, { recursive: true });
  await mkdir(snap, { recursive: true });
  await copyFile(join(QWEN2, 'config.json'), join(blobs, 'aaaa'));
  await copyFile(join(QWEN2, 'model.safetensors'), join(blobs, 'bbbb'));
  await symlink('../../blobs/aaaa', join(snap, 'config.json'));
  await symlink('../../blobs/bbbb', join(snap, 'model.safetensors'));
  const ck = await openCheckpoint(snap);
  assert.equal(ck.files[0]!.path, join(blobs, 'bbbb'));
  assert.equal(ck.tensor('language_model.lm_head.weight').file, join(blobs, 'bbbb'));
  assert.equal(ck.names().length, 65);
  // The fingerprint depends on the content identity, is stable, and differs between checkpoints.
  assert.equal(await ck.fingerprint(), await (await openCheckpoint(snap)).fingerprint());
  assert.notEqual(await ck.fingerprint(), await (await openCheckpoint(join(GOLDEN, 'models/phi3'))).fingerprint());
});
