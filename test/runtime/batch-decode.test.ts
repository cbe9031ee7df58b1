// Continuous batching at the engine level: four sequences of different prompt lengths decoded together
// (one Model.forwardBatch call per step over a BatchKVCache, joining at different steps) give the same
// greedy tokens as each sequence decoded alone through the batch-1 path, on the golden tiny models of
// all three families; their logits agree within the float32 tolerance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Model } from '../../src/runtime/model.ts';
import { DecodeState } from '../../src/runtime/decode.ts';
import { BatchKVCache } from '../../src/runtime/batch-cache.ts';
import { argmax, relL2 } from '../../src/runtime/metrics.ts';
import { GOLDEN } from '../helpers/paths.ts';

const PROMPTS = [[1, 5, 9, 22, 7], [3], [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21], [40, 2, 40, 2]];
const STEPS = 8;

// The float16 cache (what int8/int4 models with big caches default to) through the same batched path.
for (const [family, kvCache] of [['qwen2', 'float32'], ['internlm2', 'float32'], ['phi3', 'float32'], ['phi3', 'float16']] as const) {
  test(`${family}${kvCache === 'float16' ? ' (float16 KV cache)' : ''}: 4 sequences batched (joining at steps 0, 0, 2, 3) = each alone, token for token`, async () => {
    const m = await Model.load(`${GOLDEN}/models/${family}`, { kvCache });
    try {
      const V = m.config.llm.vocabSize;
      const alone: number[][] = [];
      const aloneLogits: Float32Array[][] = [];
      for (const p of PROMPTS) {
        const st = new DecodeState(m, 64);
        let l = await st.feed(await m.embed(p));
        const toks: number[] = [];
        const ls: Float32Array[] = [];
        for (let i = 0; i < STEPS; i++) {
          ls.push(l.slice());
          toks.push(argmax(l));
          l = await st.step(toks[i]!);
        }
        alone.push(toks);
        aloneLogits.push(ls);
      }

      const llm = m.config.llm;
      const kv = new BatchKVCache(llm.numLayers, llm.numKvHeads, llm.headDim, 4, 64, m.kvDtype);
      const joinAt = [0, 0, 2, 3];
      const got: number[][] = PROMPTS.map(() => []);
      const gotLogits: Float32Array[][] = PROMPTS.map(() => []);
      for (let step = 0; got.some((g) => g.length < STEPS); step++) {
        // Join: prefill through the batch-1 forward straight into the slot.
        for (let s = 0; s < 4; s++) {
          if (joinAt[s] !== step) continue;
          const out = await m.forward({ embeds: await m.embed(PROMPTS[s]!), past: kv.slotPast(s) });
          kv.appendSlot(s, out.presentKeys, out.presentValues);
          gotLogits[s]!.push(out.logits.slice());
          got[s]!.push(argmax(out.logits));
        }
        const active = [0, 1, 2, 3].filter((s) => joinAt[s]! < step + 1 && got[s]!.length < STEPS && got[s]!.length > 0 && joinAt[s] !== step);
        if (active.length === 0) continue;
        const B = Math.max(...active) + 1;
        const ids = Array.from({ length: B }, (_, s) => (active.includes(s) ? got[s]!.at(-1)! : 0));
        const out = await m.forwardBatch({ embeds: await m.embed(ids), past: kv.batchPast(), lengths: Array.from(kv.lengths.subarray(0, B)) });
        kv.appendBatch(active, out.presentKeys, out.presentValues);
        for (const s of active) {
          const row = out.logits.subarray(s * V, (s + 1) * V);
          gotLogits[s]!.push(row.slice());
          got[s]!.push(argmax(row));
        }
      }
      assert.deepEqual(got, alone);
      // Logits within the golden README's float32 tolerance (relative L2 < 1e-4; measured here: bitwise equal).
      for (let s = 0; s < 4; s++) for (let i = 0; i < STEPS; i++) assert.ok(relL2(gotLogits[s]![i]!, aloneLogits[s]![i]!) < 1e-4, `sequence ${s} step ${i}`);
    } finally {
      await m.release();
    }
  });
}
