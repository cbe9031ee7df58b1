import { test } from 'node:test';
import { readFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { KVCache } from '../../src/runtime/kv-cache.ts';
import { DecodeState } from '../../src/runtime/decode.ts';
import { Model } from '../../src/runtime/model.ts';
import { SafetensorsFile } from '../../src/io/safetensors.ts';
import { concatFloat32 } from '../../src/io/dtype.ts';
import { relL2, argmax } from '../../src/runtime/metrics.ts';
import { GOLDEN } from '../helpers/paths.ts';
import { rejectsWith } from '../helpers/tmp.ts';

test('KVCache appends new keys/values head-major after the prefix and hands out its buffers zero-copy', async () => {
  // 2 layers, 2 KV heads, headDim 1, capacity 2 (grows in steps of 256, capped by maxLength 10).
  const c = new KVCache(2, 2, 1, 10, 2);
  // New keys of S positions, head-major [KVH=2, S, 1]: head h, position s → base + 100·layer + 10·h + s.
  const kv = (S: number, base: number) => Array.from({ length: 2 }, (_, l) => Float32Array.from({ length: 2 * S }, (_, i) => base + 100 * l + 10 * Math.floor(i / S) + (i % S)));
  c.append(kv(1, 0), kv(1, 50));
  let p = c.past();
  assert.equal(p.capacity, 2);
  assert.deepEqual(Array.from(p.keys[1]!), [100, 0, 110, 0]);
  const before = p.keys[0]!.buffer;
  c.append(kv(1, 1), kv(1, 51));
  assert.equal(c.past().keys[0]!.buffer, before, 'no reallocation without growth');
  c.append(kv(3, 2), kv(3, 52)); // grows 2 → 10 (the step, capped by maxLength)
  p = c.past();
  assert.equal(c.length, 5);
  assert.equal(p.capacity, 10);
  assert.equal(p.keys[0]!.length, 2 * 10);
  assert.deepEqual(Array.from(c.layer(1).keys), [100, 101, 102, 103, 104, 110, 111, 112, 113, 114]);
  assert.deepEqual(Array.from(c.layer(0).values), [50, 51, 52, 53, 54, 60, 61, 62, 63, 64]);
  assert.deepEqual(Array.from(p.keys[0]!.subarray(10, 15)), [10, 11, 12, 13, 14], 'head 1 starts at the capacity');
  c.truncate(1);
  assert.equal(c.past().length, 1);
  assert.deepEqual(Array.from(c.layer(0).keys), [0, 10]);
  await rejectsWith(() => c.append(kv(10, 0), kv(10, 0)), /11 positions exceed the maximum of 10/);
});

const PIXELS = `${GOLDEN}/preprocess/model_input_wide_1920x1080_max2.safetensors`;

for (const family of ['qwen2', 'internlm2', 'phi3']) {
  test(`${family}: greedy decoding with the KV cache reproduces the golden tokens; cached = uncached logits`, async () => {
    const dir = `${GOLDEN}/models/${family}`;
    const gold = await SafetensorsFile.open(`${dir}/golden.safetensors`);
    const m = await Model.load(dir);
    const pv = await (await SafetensorsFile.open(PIXELS)).readFloat32('pixel_values');
    const { vitEmbeds } = await m.encodeImages(pv, 3);
    const ids = await gold.readIntegers('input_ids');
    const meta = JSON.parse(await readFile(`${dir}/meta.json`, 'utf8')) as { img_context_id: number };
    const prompt = await m.embedWithImages(ids, vitEmbeds, meta.img_context_id);
    const want = await gold.readIntegers('greedy_tokens');

    const st = new DecodeState(m);
    let logits = await st.feed(prompt);
    let full = prompt;
    const got: number[] = [];
    for (let step = 0; step < want.length; step++) {
      // Uncached reference for this step: the whole sequence again.
      const un = await m.forward({ embeds: full });
      const err = relL2(logits, un.logits);
      assert.ok(err < 1e-4, `step ${step}: cached vs uncached logits rel L2 ${err}`);
      const next = argmax(logits);
      got.push(next);
      if (step === want.length - 1) break;
      const e = await m.embed([next]);
      full = concatFloat32([full, e]);
      logits = await st.feed(e);
    }
    assert.deepEqual(got, want);
    assert.equal(st.cache.length, ids.length + want.length - 1);
    await m.release();
  });
}

for (const family of ['qwen2', 'phi3']) {
  test(`${family}: a chunked prefill equals one unchunked forward (RoPE sees the whole prompt)`, async () => {
    const dir = `${GOLDEN}/models/${family}`;
    const gold = await SafetensorsFile.open(`${dir}/golden.safetensors`);
    const m = await Model.load(dir);
    const ids = await gold.readIntegers('text_input_ids');
    // 40 text tokens repeated to 320 positions: crosses the tiny Phi-3's original_max_position_embeddings (256).
    const long = Array.from({ length: 320 }, (_, i) => ids[i % ids.length]!);
    const e = await m.embed(long);
    const full = await m.forward({ embeds: e });
    const st = new DecodeState(m);
    const logits = await st.feed(e, 100);
    assert.ok(relL2(logits, full.logits) < 1e-4, `logits ${relL2(logits, full.logits)}`);
    for (let l = 0; l < m.config.llm.numLayers; l++) {
      const cached = st.cache.layer(l);
      assert.ok(relL2(cached.keys, full.presentKeys[l]!) < 1e-4, `layer ${l} keys`);
      assert.ok(relL2(cached.values, full.presentValues[l]!) < 1e-4, `layer ${l} values`);
    }
    await m.release();
  });
}
