// int8 against this project's fp32 forward on the golden inputs (issue "Fast on the CPU"): greedy tokens
// equal fp32's for at least QUANT_TARGETS.int8.greedy_equal_min of 12 on each golden family. The logits
// rel-L2 target (1e-2) is not met on these random tiny models (README "Precisions") and is reported, not asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runParity } from '../../src/runtime/parity.ts';
import { QUANT_TARGETS } from '../../src/runtime/parity-quant.ts';
import { GOLDEN } from '../helpers/paths.ts';
import { tempDir } from '../helpers/tmp.ts';

const PIXELS = `${GOLDEN}/preprocess/model_input_wide_1920x1080_max2.safetensors`;

for (const family of ['qwen2', 'internlm2', 'phi3']) {
  test(`${family}: int8 greedy tokens equal fp32's for ≥ ${QUANT_TARGETS.int8!.greedy_equal_min} of 12`, async () => {
    const dir = `${GOLDEN}/models/${family}`;
    const r = await runParity({ modelDir: dir, goldenFile: `${dir}/golden.safetensors`, pixelValuesFile: PIXELS, dtype: 'int8', weightCacheRoot: await tempDir() });
    const v = r.vs_fp32!;
    assert.equal(v.fp32_greedy_tokens.length, 12);
    assert.ok(v.greedy_equal >= QUANT_TARGETS.int8!.greedy_equal_min!, `greedy ${v.greedy_tokens} vs fp32 ${v.fp32_greedy_tokens}`);
    // The int8 path must actually be quantized: not bit-equal to fp32.
    assert.ok(v.logits_rel_l2 > 1e-4, `logits rel-L2 ${v.logits_rel_l2}`);
  });
}
