// The training graph against the reference's LoRA goldens: loss within 1e-4, every gradient within
// 1e-3 relative L2 (golden/README.md), for each LLM family; and the parity CLI's --lora-golden fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runLoraParity, LORA_TOLERANCES } from '../../src/runtime/lora-parity.ts';
import { GOLDEN } from '../helpers/paths.ts';
import { minivl } from '../helpers/cli.ts';

const PIXELS = `${GOLDEN}/preprocess/model_input_wide_1920x1080_max2.safetensors`;

for (const family of ['qwen2', 'internlm2', 'phi3']) {
  test(`${family}: LoRA + projector loss and every gradient match lora_golden`, async () => {
    const dir = `${GOLDEN}/models/${family}`;
    const r = await runLoraParity({ modelDir: dir, loraGoldenFile: `${dir}/lora_golden.safetensors`, pixelValuesFile: PIXELS });
    assert.ok(r.lora_loss_abs_err < LORA_TOLERANCES.lora_loss_abs_err, `loss ${r.lora_loss} vs ${r.lora_golden_loss}`);
    // 2 layers × the family's targets × (A, B) + the 6 mlp1 tensors.
    const targets = { qwen2: 7, internlm2: 5, phi3: 4 }[family]!;
    assert.equal(Object.keys(r.lora_grad_rel_l2).length, 2 * targets * 2 + 6);
    for (const [name, e] of Object.entries(r.lora_grad_rel_l2)) assert.ok(e < LORA_TOLERANCES.lora_grad_max_rel_l2, `${name}: ${e}`);
    assert.deepEqual(r.failed, []);
  });
}

test('minivl parity --lora-golden adds lora_loss_abs_err and lora_grad_max_rel_l2', () => {
  const dir = `${GOLDEN}/models/phi3`;
  const res = minivl('parity', '--model', dir, '--golden', `${dir}/golden.safetensors`, '--pixel-values', PIXELS, '--lora-golden', `${dir}/lora_golden.safetensors`);
  assert.equal(res.status, 0, res.stderr);
  const lines = res.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const j = JSON.parse(lines[0]!);
  assert.ok(j.lora_loss_abs_err < 1e-4);
  assert.ok(j.lora_grad_max_rel_l2 < 1e-3);
  assert.ok(j.logits_rel_l2 < 1e-4);
  assert.equal(j.ok, true);
});

test('minivl parity --lora-golden refuses a file that is not a LoRA golden, in one line', () => {
  const dir = `${GOLDEN}/models/qwen2`;
  const res = minivl('parity', '--model', dir, '--golden', `${dir}/golden.safetensors`, '--pixel-values', PIXELS, '--lora-golden', `${dir}/golden.safetensors`);
  assert.notEqual(res.status, 0);
  assert.match(res.stderr, /^minivl: error: .*golden\.safetensors: no tensor 'labels' \(not a LoRA golden\?\)\n$/);
});
