// int4 with `prefillWeights: 'int8'`: multi-row calls (prefill chunks) run exactly the int8-linear decoder
// (the int4 policy with int8's LLM forms, loaded on its own), one-row steps exactly the int4 decoder; both
// cache entries are reused on the next load; other precisions refuse the option.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Model, type PastKV } from '../../src/runtime/model.ts';
import { defaultQuantPolicy } from '../../src/runtime/precision.ts';
import { GOLDEN } from '../helpers/paths.ts';
import { rejectsWith, tempDir } from '../helpers/tmp.ts';

const MODELS = ['qwen2', 'internlm2', 'phi3'];
const IDS = [1, 5, 9, 77, 300, 12, 41, 8];

async function prefillAndStep(m: Model, past?: PastKV) {
  const embeds = await m.embed(IDS);
  const pre = await m.forward({ embeds, logitsPositions: IDS.map((_, i) => i) });
  const p: PastKV = past ?? { length: IDS.length, capacity: IDS.length, keys: pre.presentKeys, values: pre.presentValues };
  const step = await m.forward({ embeds: await m.embed([33]), past: p });
  return { pre, step, past: p };
}

for (const name of MODELS) {
  test(`${name}: int4 + int8 prefill weights = the int8-linear decoder for prefill, the int4 decoder for steps`, async () => {
    const dir = join(GOLDEN, 'models', name);
    const root = join(await tempDir(), 'converted');
    const hybrid = await Model.load(dir, { dtype: 'int4', prefillWeights: 'int8', weightCacheRoot: root });
    const int4 = await Model.load(dir, { dtype: 'int4', weightCacheRoot: root });
    const rows = await Model.load(dir, { dtype: 'int4', quantPolicy: { ...defaultQuantPolicy('int4'), llmForm: defaultQuantPolicy('int8').llmForm }, weightCacheRoot: root });
    try {
      assert.equal(hybrid.prefillWeights, 'int8');
      assert.equal(int4.prefillWeights, null);
      const h = await prefillAndStep(hybrid);
      const r = await prefillAndStep(rows, h.past);
      const q = await prefillAndStep(int4, h.past);
      // Prefill: bit for bit the int8-linear decoder's logits and keys/values, and not the int4 decoder's.
      assert.deepEqual(h.pre.logits, r.pre.logits);
      assert.deepEqual(h.pre.presentKeys, r.pre.presentKeys);
      assert.deepEqual(h.pre.presentValues, r.pre.presentValues);
      assert.notDeepEqual(h.pre.logits, q.pre.logits);
      // A one-row step on the same past: bit for bit the int4 decoder's.
      assert.deepEqual(h.step.logits, q.step.logits);
      assert.deepEqual(h.step.presentKeys, q.step.presentKeys);
      assert.notDeepEqual(h.step.logits, r.step.logits);
      // The int4 model's own entry, and a decoder-only one of its own (not the whole int8-linear model's).
      assert.equal(hybrid.weightCache!.dir, int4.weightCache!.dir);
      assert.notEqual(hybrid.prefillWeightCache!.dir, rows.weightCache!.dir);
    } finally {
      await Promise.all([hybrid.release(), int4.release(), rows.release()]);
    }
    const again = await Model.load(dir, { dtype: 'int4', prefillWeights: 'int8', weightCacheRoot: root });
    try {
      assert.equal(again.weightCache!.built, false);
      assert.equal(again.prefillWeightCache!.built, false, 'the prefill entry was converted again');
    } finally {
      await again.release();
    }
  });
}

test('prefillWeights with fp32 or int8: one-line error', async () => {
  const dir = join(GOLDEN, 'models', 'qwen2');
  const root = join(await tempDir(), 'converted');
  for (const dtype of ['fp32', 'int8'] as const) {
    await rejectsWith(Model.load(dir, { dtype, prefillWeights: 'int8', weightCacheRoot: root }), new RegExp(`prefill weights int8 go with int4 weights on the CPU \\(got ${dtype} on cpu\\)`));
  }
});
