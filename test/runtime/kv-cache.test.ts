import { test } from 'node:test';
import { readFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { KVCache } from '../../src/runtime/kv-cache.ts';
import { DecodeState } from '../../src/runtime/decode.ts';
import { Model, defaultKVDtype } from '../../src/runtime/model.ts';
import { SafetensorsFile } from '../../src/io/safetensors.ts';
import { concatFloat32 } from '../../src/io/dtype.ts';
import { relL2, argmax } from '../../src/runtime/metrics.ts';
import { GOLDEN } from '../helpers/paths.ts';
import { rejectsWith } from '../helpers/tmp.ts';
import { FLOAT16_COMPUTE_TARGET } from '../../src/runtime/parity-quant.ts';

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

test('a float16 KVCache holds raw float16 bits (Uint16Array), grows like float32, and refuses float32 rows', async () => {
  const c = new KVCache(1, 1, 2, 600, 2, 'float16');
  const rows = (S: number, base: number) => [Uint16Array.from({ length: 2 * S }, (_, i) => base + i)];
  c.append(rows(1, 0x3c00), rows(1, 0x4000));
  c.append(rows(300, 0x1000), rows(300, 0x2000)); // grows past the first step of 256
  assert.ok(c.past().keys[0] instanceof Uint16Array);
  assert.equal(c.past().capacity, 512);
  const l = c.layer(0);
  assert.ok(l.keys instanceof Uint16Array);
  assert.deepEqual(Array.from(l.keys.subarray(0, 4)), [0x3c00, 0x3c01, 0x1000, 0x1001]);
  assert.equal(l.values[601], 0x2000 + 599);
  await rejectsWith(() => c.append([new Float32Array(2)], [new Float32Array(2)]), /expected float16 keys\/values, got Float32Array/);
});

for (const family of ['qwen2', 'internlm2', 'phi3']) {
  test(`${family}: a float16 KV cache follows the float32 one (float16 tolerance, same greedy tokens)`, async () => {
    const dir = `${GOLDEN}/models/${family}`;
    const gold = await SafetensorsFile.open(`${dir}/golden.safetensors`);
    // fp32 weights isolate the cache's rounding (at int8 the per-call activation scales turn any
    // perturbation into ~1e-2 of logits); the default keeps these tiny caches in float32.
    const m16 = await Model.load(dir, { kvCache: 'float16' });
    const m32 = await Model.load(dir);
    assert.equal(m16.kvDtype, 'float16');
    assert.equal(m32.kvDtype, 'float32');
    const ids = await gold.readIntegers('text_input_ids');
    const s16 = new DecodeState(m16);
    const s32 = new DecodeState(m32);
    let l16 = await s16.feed(await m16.embed(ids));
    let l32 = await s32.feed(await m32.embed(ids));
    assert.ok(s16.cache.past().keys[0] instanceof Uint16Array, 'the cache holds float16');
    let worst = 0;
    for (let step = 0; step < 12; step++) {
      worst = Math.max(worst, relL2(l16, l32));
      assert.equal(argmax(l16), argmax(l32), `step ${step}: greedy token`);
      const next = argmax(l32);
      l16 = await s16.feed(await m16.embed([next]));
      l32 = await s32.feed(await m32.embed([next]));
    }
    // Storing K/V in float16 is one part of the rounding FLOAT16_COMPUTE_TARGET was derived for (every op in float16).
    assert.ok(worst < FLOAT16_COMPUTE_TARGET.logits_rel_l2!, `float16 vs float32 cache: logits rel-L2 ${worst}`);
    assert.ok(worst > 0, 'the float16 cache rounds: not bit-equal to the float32 one');
    await Promise.all([m16.release(), m32.release()]);
  });
}

test('defaultKVDtype: float16 for int8/int4 on the CPU when float32 would exceed 64 KiB per token', () => {
  const phi3mini = { numLayers: 32, numKvHeads: 32, headDim: 96 }; // 768 KiB per token in float32
  const qwen05b = { numLayers: 24, numKvHeads: 2, headDim: 64 }; // 24 KiB
  assert.equal(defaultKVDtype(phi3mini, 'int4', 'cpu'), 'float16');
  assert.equal(defaultKVDtype(phi3mini, 'int8', 'cpu'), 'float16');
  assert.equal(defaultKVDtype(phi3mini, 'fp32', 'cpu'), 'float32');
  assert.equal(defaultKVDtype(phi3mini, 'int4', 'webgpu'), 'float32');
  assert.equal(defaultKVDtype(qwen05b, 'int4', 'cpu'), 'float32');
});

test('a KVCache with reserved rows grows and shrinks the capacity it feeds in place, keeping every cached row', () => {
  // 1 layer, 3 KV heads, headDim 2, 1000 rows reserved: capacity 256 → 512 → 768 without new buffers.
  const c = new KVCache(1, 3, 2, 1000, undefined, 'float32', 1000);
  const rows = (S: number, base: number) => [Float32Array.from({ length: 3 * S * 2 }, (_, i) => base + i)];
  const want: number[][] = [[], [], []]; // per head, the cached values in order
  const add = (S: number, base: number) => {
    const k = rows(S, base);
    c.append(k, k);
    for (let h = 0; h < 3; h++) want[h]!.push(...Array.from(k[0]!.subarray(h * S * 2, (h + 1) * S * 2)));
  };
  add(200, 0);
  const buffer = c.past().keys[0]!.buffer;
  assert.equal(c.past().capacity, 256);
  assert.equal(c.past().keys[0]!.length, 3 * 256 * 2, 'the decoder sees [KVH, capacity, d] only');
  add(300, 10_000); // 500 rows → capacity 512
  add(200, 20_000); // 700 rows → capacity 768
  const p = c.past();
  assert.equal(p.capacity, 768);
  assert.equal(p.keys[0]!.buffer, buffer, 'grown inside the reservation');
  assert.deepEqual(Array.from(c.layer(0).keys), want.flat());
  for (let h = 0; h < 3; h++) assert.equal(p.keys[0]![(h * 768 + 699) * 2 + 1], want[h]![699 * 2 + 1], `head ${h} at its new offset`);
  c.truncate(300); // capacity back to 512, heads moved down
  assert.equal(c.past().capacity, 512);
  assert.deepEqual(Array.from(c.layer(0).values), want.map((w) => w.slice(0, 300 * 2)).flat());
  add(10, 30_000);
  for (let h = 0; h < 3; h++) want[h]!.splice(300 * 2, 400 * 2);
  assert.deepEqual(Array.from(c.layer(0).keys), want.map((w) => w.slice(0, 310 * 2)).flat());
});
