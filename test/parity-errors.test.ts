// Bad input for `minivl parity` / Model.load: one-line errors, exit status 1, no stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { writeSafetensors } from '../src/io/safetensors.ts';
import { Model } from '../src/runtime/model.ts';
import { tempDir, rejectsWith } from './helpers/tmp.ts';
import { editedQwen2 } from './model/edited-checkpoint.ts';
import { GOLDEN, ROOT } from './helpers/paths.ts';

const QWEN = `${GOLDEN}/models/qwen2`;

function parity(args: string[]) {
  return spawnSync(process.execPath, ['scripts/minivl-src.mjs', 'parity', ...args], { cwd: ROOT, encoding: 'utf8' });
}

test('pixel values of the wrong shape: one-line error, exit 1', async () => {
  const dir = await tempDir('minivl-parity-');
  const bad = join(dir, 'pixels.safetensors');
  await writeSafetensors(bad, [{ name: 'pixel_values', dtype: 'F32', shape: [3, 3, 224, 224], data: new Float32Array(3 * 3 * 224 * 224) }]);
  const r = parity(['--model', QWEN, '--golden', `${QWEN}/golden.safetensors`, '--pixel-values', bad]);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^minivl: error: .*pixels\.safetensors: pixel_values has shape \[3, 3, 224, 224\], expected \[tiles, 3, 448, 448\]\n$/);
});

test('a missing flag is a usage error', () => {
  const r = parity(['--model', QWEN]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^minivl: error: --golden is required/);
});

test('a checkpoint with a missing tensor is refused before any graph is built', async () => {
  const dir = await editedQwen2((ts) => {
    ts.splice(ts.findIndex((t) => t.name === 'language_model.model.layers.1.self_attn.k_proj.bias'), 1);
  });
  await rejectsWith(Model.load(dir), /missing tensor 'language_model\.model\.layers\.1\.self_attn\.k_proj\.bias'/);
});

test('a checkpoint tensor with the wrong shape is refused', async () => {
  const dir = await editedQwen2((ts) => {
    const t = ts.find((x) => x.name === 'mlp1.3.weight')!;
    t.shape = [t.shape[1]!, t.shape[0]!, 1];
  });
  await rejectsWith(Model.load(dir), /tensor 'mlp1\.3\.weight' has shape \[64, 64, 1\], expected \[64, 64\]/);
});

test('the copied checkpoint loads and runs (external data from another folder)', async () => {
  const dir = await editedQwen2();
  const m = await Model.load(dir);
  await rejectsWith(m.encodeImages(new Float32Array(10), 1), /^pixel_values: expected \[1, 3, 448, 448\] = 602112 floats, got 10$/);
  await rejectsWith(m.embed([0, 512]), /token id 512 at position 1 is outside the vocabulary \(0\.\.511\)/);
  const e = await m.embed([1, 2, 3]);
  await rejectsWith(m.forward({ embeds: e, logitsPositions: [3] }), /logits position 3 is outside the 3 new positions/);
  const r = await m.forward({ embeds: e });
  assert.equal(r.logits.length, 512);
  await m.release();
});

test('a golden of another LLM family is refused in one line before any forward', () => {
  const r = parity(['--model', `${GOLDEN}/models/phi3`, '--golden', `${QWEN}/golden.safetensors`,
    '--pixel-values', `${GOLDEN}/preprocess/model_input_wide_1920x1080_max2.safetensors`]);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^minivl: error: .*qwen2\/meta\.json: the golden is for a qwen2 model, --model .*phi3 is phi3\n$/);
});
