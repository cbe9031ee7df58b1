import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roundToBfloat16, toPixelValues } from '../../src/image/index.ts';

test('toPixelValues: CHW planes, float32 steps as torch ToTensor + Normalize', () => {
  const tile = { width: 2, height: 1, data: Uint8Array.from([0, 128, 255, 10, 20, 30]) };
  const pv = toPixelValues([tile, tile]);
  assert.equal(pv.length, 2 * 3 * 2);
  const f = Math.fround;
  const want = (v: number, m: number, s: number) => f(f(f(v / 255) - f(m)) / f(s));
  assert.deepEqual(Array.from(pv.subarray(0, 6)), [
    want(0, 0.485, 0.229), want(10, 0.485, 0.229), want(128, 0.456, 0.224), want(20, 0.456, 0.224), want(255, 0.406, 0.225), want(30, 0.406, 0.225),
  ]);
  assert.deepEqual(pv.subarray(6), pv.subarray(0, 6));
});

test('roundToBfloat16: round to nearest even on the upper 16 bits, like torch .to(bfloat16)', async () => {
  const f = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0]!;
  const b = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0]!;
  const v = new Float32Array([f(0x3f808000), f(0x3f818000), f(0x3f808001), -2.1007792949676514, Infinity, 1]);
  roundToBfloat16(v);
  assert.deepEqual(Array.from(v.subarray(0, 3), b), [0x3f800000, 0x3f820000, 0x3f810000]);
  assert.equal(v[3], -2.09375);
  assert.equal(v[4], Infinity);
  assert.equal(v[5], 1);
});
