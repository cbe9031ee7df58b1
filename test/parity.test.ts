// Parity of the float32 forward with the official implementation on the three tiny golden models
// (golden/README.md tolerances), stage by stage so a failure points at the stage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { runParity, TOLERANCES } from '../src/runtime/parity.ts';
import { GOLDEN, ROOT } from './helpers/paths.ts';

const PIXELS = `${GOLDEN}/preprocess/model_input_wide_1920x1080_max2.safetensors`;

for (const family of ['qwen2', 'internlm2', 'phi3']) {
  test(`${family}: vision, logits, hidden states, greedy tokens and loss match the golden`, async () => {
    const dir = `${GOLDEN}/models/${family}`;
    const r = await runParity({ modelDir: dir, goldenFile: `${dir}/golden.safetensors`, pixelValuesFile: PIXELS });
    // Stages in data-flow order.
    assert.ok(r.vision_last_hidden_state_rel_l2 < 1e-4, `vision_last_hidden_state ${r.vision_last_hidden_state_rel_l2}`);
    assert.ok(r.vit_embeds_rel_l2 < TOLERANCES.vit_embeds_rel_l2, `vit_embeds ${r.vit_embeds_rel_l2}`);
    assert.equal(r.last_hidden_per_layer_rel_l2.length, 3);
    r.last_hidden_per_layer_rel_l2.forEach((e, i) => assert.ok(e < 1e-4, `last_hidden_per_layer[${i}] ${e}`));
    assert.ok(r.logits_rel_l2 < TOLERANCES.logits_rel_l2, `logits ${r.logits_rel_l2}`);
    assert.equal(r.argmax_agreement, 1);
    assert.ok(r.argmax_rows > 700);
    assert.deepEqual(r.greedy_tokens, r.golden_greedy_tokens);
    assert.equal(r.greedy_match, true);
    assert.ok(r.loss_abs_err < TOLERANCES.loss_abs_err, `loss ${r.loss} vs ${r.golden_loss}`);
    assert.ok(r.text_logits_rel_l2 < TOLERANCES.text_logits_rel_l2, `text_logits ${r.text_logits_rel_l2}`);
    assert.deepEqual(r.failed, []);
    assert.equal(r.ok, true);
  });
}

test('minivl parity prints one JSON line and exits 0 within tolerance', () => {
  const dir = `${GOLDEN}/models/internlm2`;
  const { ORT_DISABLE_TELEMETRY: _, ...env } = process.env;
  const res = spawnSync(process.execPath, ['scripts/minivl-src.mjs', 'parity', '--model', dir, '--golden', `${dir}/golden.safetensors`, '--pixel-values', PIXELS], { cwd: ROOT, encoding: 'utf8', env });
  assert.equal(res.status, 0, res.stderr);
  // ORT's telemetry client stays off (it would leave /tmp/mat-debug-PID.log behind).
  assert.equal(existsSync(`/tmp/mat-debug-${res.pid}.log`), false);
  const lines = res.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const j = JSON.parse(lines[0]!);
  for (const k of ['vit_embeds_rel_l2', 'logits_rel_l2', 'text_logits_rel_l2', 'argmax_agreement', 'greedy_match', 'loss_abs_err']) {
    assert.ok(k in j, k);
  }
  assert.equal(j.greedy_match, true);
});
