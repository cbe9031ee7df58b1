import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Rope } from '../../src/model/rope.ts';
import { parseModelConfig, type LlmConfig } from '../../src/model/config.ts';
import { shared, ROOT } from '../helpers/paths.ts';

async function llmOf(path: string): Promise<LlmConfig> {
  return parseModelConfig(JSON.parse(await readFile(path, 'utf8')), path).llm;
}
const near = (a: number, b: number, tol = 2e-6) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('default RoPE (Qwen2): cos/sin of p / base^(2i/d), half vector repeated', async () => {
  const llm = await llmOf(`${ROOT}/test/fixtures/configs/internvl2-1b.json`);
  const d = llm.headDim;
  const { cos, sin } = new Rope(llm).tables([0, 5, 1000]);
  assert.equal(cos.length, 3 * d);
  for (const [row, p] of [[0, 0], [1, 5], [2, 1000]] as const) {
    for (const i of [0, 1, 7, d / 2 - 1]) {
      const theta = p / Math.pow(1e6, (2 * i) / d);
      near(cos[row * d + i]!, Math.cos(theta), p === 1000 ? 2e-4 : 2e-6);
      near(sin[row * d + i]!, Math.sin(theta), p === 1000 ? 2e-4 : 2e-6);
      assert.equal(cos[row * d + i + d / 2], cos[row * d + i]);
      assert.equal(sin[row * d + i + d / 2], sin[row * d + i]);
    }
  }
});

test('Phi-3 LongRoPE: short factors up to original_max, long beyond (strict), mscale on cos and sin', async () => {
  const llm = await llmOf(shared('golden/models/phi3/config.json'));
  const rs = llm.ropeScaling;
  assert.equal(rs.type, 'longrope');
  if (rs.type !== 'longrope') return;
  const d = llm.headDim;
  const L0 = rs.originalMaxPositionEmbeddings; // 256 in the tiny model
  const mscale = Math.sqrt(1 + Math.log(llm.maxPositionEmbeddings / L0) / Math.log(L0));
  near(mscale, Math.sqrt(1.5));
  const rope = new Rope(llm);
  const p = 200;
  const expectAt = (t: Float32Array, row: number, factors: number[]) => {
    for (let i = 0; i < d / 2; i++) {
      const theta = p / (factors[i]! * Math.pow(llm.ropeTheta, (2 * i) / d));
      near(t[row * d + i]!, Math.cos(theta) * mscale, 1e-5);
    }
  };
  // Largest position L0 − 1 → seq_len = L0 → short; largest L0 → seq_len L0 + 1 → long.
  expectAt(rope.tables([p, L0 - 1]).cos, 0, rs.shortFactor);
  expectAt(rope.tables([p, L0]).cos, 0, rs.longFactor);
  // A chunk of a longer call: the caller's sequence length decides, not this chunk's positions.
  expectAt(rope.tables([p], L0 + 1).cos, 0, rs.longFactor);
});

test('InternLM2 dynamic NTK: plain up to max_position_embeddings, larger base beyond, and it persists', async () => {
  const llm = await llmOf(`${ROOT}/test/fixtures/configs/internvl2-2b.json`);
  const rs = llm.ropeScaling;
  assert.equal(rs.type, 'dynamic');
  if (rs.type !== 'dynamic') return;
  const d = llm.headDim;
  const M = llm.maxPositionEmbeddings;
  const rope = new Rope(llm);
  const i = 10;
  const angle = (base: number, p: number) => p / Math.pow(base, (2 * i) / d);
  near(rope.tables([100], M).cos[i]!, Math.cos(angle(llm.ropeTheta, 100)));
  const L = 2 * M;
  const base2 = llm.ropeTheta * Math.pow((rs.factor * L) / M - (rs.factor - 1), d / (d - 2));
  near(rope.tables([100], L).cos[i]!, Math.cos(angle(base2, 100)));
  // Stateful like the reference: a later short call keeps the enlarged base.
  near(rope.tables([100], 200).cos[i]!, Math.cos(angle(base2, 100)));
});
