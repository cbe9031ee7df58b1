import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Sampler,
  Xoshiro128,
  applyRepetitionPenalty,
  applyTemperature,
  applyTopK,
  applyTopP,
  argmax,
  resolveSamplingOptions,
  sampleFromLogits,
} from '../../src/generate/sampling.ts';
import { MinivlError } from '../../src/errors.ts';

const f32 = (a: number[]) => Float32Array.from(a);
const NEG = -Infinity;

test('xoshiro128** matches the reference C implementation from state {1,2,3,4}', () => {
  const g = Xoshiro128.fromState([1, 2, 3, 4]);
  const out = Array.from({ length: 8 }, () => g.nextUint32());
  assert.deepEqual(out, [11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849]);
});

test('seeded PRNG is deterministic, seed-dependent and uniform in [0,1)', () => {
  const a = new Xoshiro128(42);
  const b = new Xoshiro128(42);
  const c = new Xoshiro128(43);
  const xa = Array.from({ length: 50 }, () => a.nextFloat());
  assert.deepEqual(xa, Array.from({ length: 50 }, () => b.nextFloat()));
  assert.notDeepEqual(xa, Array.from({ length: 50 }, () => c.nextFloat()));
  for (const x of xa) assert.ok(x >= 0 && x < 1);
});

test('argmax: ties go to the lowest id', () => {
  assert.equal(argmax(f32([1, 5, 5, 2])), 1);
  assert.equal(argmax(f32([-3, -1, -2])), 1);
});

test('repetition penalty as HF: divide positive, multiply negative, each distinct id once', () => {
  const l = f32([2, -2, 0.5, 1, 0]);
  applyRepetitionPenalty(l, [0, 1, 1, 4, 1], 2);
  assert.deepEqual(Array.from(l), [1, -4, 0.5, 1, 0]);
  // marks scratch comes back zeroed
  const marks = new Uint8Array(5);
  applyRepetitionPenalty(f32([1, 1, 1, 1, 1]), [3, 3, 2], 1.5, marks);
  assert.deepEqual(Array.from(marks), [0, 0, 0, 0, 0]);
});

test('temperature divides the logits', () => {
  const l = f32([1, -2, 3]);
  applyTemperature(l, 0.5);
  assert.deepEqual(Array.from(l), [2, -4, 6]);
});

test('top-k keeps values ≥ the k-th largest (ties survive, like HF)', () => {
  const l = f32([1, 3, 3, 2, 0]);
  applyTopK(l, 2);
  assert.deepEqual(Array.from(l), [NEG, 3, 3, NEG, NEG]);
  const m = f32([1, 3, 3, 2, 0]);
  applyTopK(m, 3);
  assert.deepEqual(Array.from(m), [NEG, 3, 3, 2, NEG]);
  const n = f32([4, 1, 7, 2, 9, 3]);
  applyTopK(n, 1);
  assert.deepEqual(Array.from(n), [NEG, NEG, NEG, NEG, 9, NEG]);
  const all = f32([1, 2]);
  applyTopK(all, 5);
  assert.deepEqual(Array.from(all), [1, 2]);
});

test('top-p keeps the smallest top set whose mass reaches p', () => {
  const base = [Math.log(0.2), Math.log(0.5), Math.log(0.3)];
  const keep = (p: number) => {
    const l = f32(base);
    applyTopP(l, p);
    return Array.from(l, (v) => v !== NEG);
  };
  assert.deepEqual(keep(0.4), [false, true, false]);
  assert.deepEqual(keep(0.75), [false, true, true]);
  assert.deepEqual(keep(0.85), [true, true, true]);
  assert.deepEqual(keep(1), [true, true, true]);
});

test('sampling draws the first id whose cumulative probability exceeds u', () => {
  const l = f32([Math.log(0.5), Math.log(0.3), NEG, Math.log(0.2)]);
  assert.equal(sampleFromLogits(l, 0), 0);
  assert.equal(sampleFromLogits(l, 0.49), 0);
  assert.equal(sampleFromLogits(l, 0.51), 1);
  assert.equal(sampleFromLogits(l, 0.79), 1);
  assert.equal(sampleFromLogits(l, 0.81), 3);
  assert.equal(sampleFromLogits(l, 0.999999), 3);
});

test('processor chain in HF order: penalty → temperature → top-k → top-p (exact values)', () => {
  // logits [1, 2.5, 3, 4, -1], generated [3, 4, 3], penalty 2 → [1, 2.5, 3, 2, -2]
  // temperature 0.5 → [2, 5, 6, 4, -4]; top-k 3 → [-inf, 5, 6, 4, -inf]
  // probs of {1,2,3} = .2447, .6652, .0900; top-p 0.8 → {2, 1}; P(1) = 1/(1+e) = .26894
  const opts = { doSample: true, repetitionPenalty: 2, temperature: 0.5, topK: 3, topP: 0.8, seed: 7 };
  const s = new Sampler(opts);
  const rng = new Xoshiro128(7);
  for (let i = 0; i < 20; i++) {
    const l = f32([1, 2.5, 3, 4, -1]);
    const id = s.next(l, [3, 4, 3]);
    assert.deepEqual(Array.from(l), [NEG, 5, 6, NEG, NEG]);
    assert.equal(id, rng.nextFloat() < 1 / (1 + Math.E) ? 1 : 2);
  }
});

test('greedy == argmax after the repetition penalty; temperature 0 means greedy', () => {
  const g = new Sampler({ repetitionPenalty: 3 });
  assert.equal(g.next(f32([0.1, 3, 2]), []), 1);
  assert.equal(g.next(f32([0.1, 3, 2]), [1]), 2); // 3/3 = 1 < 2
  const t0 = new Sampler({ doSample: true, temperature: 0, seed: 1 });
  assert.equal(t0.options.doSample, false);
  for (let i = 0; i < 5; i++) assert.equal(t0.next(f32([0.3, 0.1, 0.9, 0.2])), 2);
  const k1 = new Sampler({ doSample: true, topK: 1, seed: 3 });
  for (let i = 0; i < 5; i++) assert.equal(k1.next(f32([0.3, 0.1, 0.9, 0.2])), 2);
});

test('min new tokens masks eos until enough tokens exist', () => {
  const s = new Sampler({ minNewTokens: 2, eosTokenIds: [1] });
  assert.equal(s.next(f32([0, 9, 1]), []), 2);
  assert.equal(s.next(f32([0, 9, 1]), [2]), 2);
  assert.equal(s.next(f32([0, 9, 1]), [2, 2]), 1);
});

test('same seed → same samples; frequencies follow the distribution (vocab 151655)', () => {
  const V = 151655;
  const make = () => {
    const l = new Float32Array(V).fill(-20);
    l[10] = Math.log(0.5);
    l[20] = Math.log(0.3);
    l[151654] = Math.log(0.2);
    return l;
  };
  const run = (seed: number, n: number) => {
    const s = new Sampler({ doSample: true, topK: 0, topP: 0.99, seed });
    return Array.from({ length: n }, () => s.next(make()));
  };
  const a = run(5, 600);
  assert.deepEqual(a.slice(0, 100), run(5, 100));
  assert.notDeepEqual(a.slice(0, 100), run(6, 100));
  const freq = (id: number) => a.filter((x) => x === id).length / a.length;
  assert.ok(Math.abs(freq(10) - 0.5) < 0.06, `freq(10)=${freq(10)}`);
  assert.ok(Math.abs(freq(20) - 0.3) < 0.06, `freq(20)=${freq(20)}`);
  assert.ok(Math.abs(freq(151654) - 0.2) < 0.06);
  assert.equal(a.length, a.filter((x) => x === 10 || x === 20 || x === 151654).length); // top-p dropped the tail
});

test('invalid options are one-line MinivlErrors', () => {
  for (const bad of [{ temperature: -1 }, { topK: 1.5 }, { topP: 0 }, { topP: 1.2 }, { repetitionPenalty: 0 }, { minNewTokens: -1 }]) {
    assert.throws(() => resolveSamplingOptions(bad), (e: unknown) => e instanceof MinivlError && !e.message.includes('\n'));
  }
});
