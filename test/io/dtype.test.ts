import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/io/dtype.ts';

const u16 = (...v: number[]) => Uint16Array.from(v);
const f32 = (...v: number[]) => Float32Array.from(v);
const bitsOf = (x: number) => new Uint32Array(f32(x).buffer)[0]!;
const fromBits = (b: number) => new Float32Array(Uint32Array.of(b).buffer)[0]!;

/** A deterministic stream of float32 bit patterns covering every exponent. */
function randomBits(n: number, seed = 12345): Uint32Array {
  const out = new Uint32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = s;
  }
  return out;
}

test('bf16ToF32 places the bits in the high half', () => {
  assert.deepEqual([...bf16ToF32(u16(0x3f80, 0xc000, 0x0000, 0x8000, 0x7f80, 0xff80, 0x0001, 0x4049))],
    [1, -2, 0, -0, Infinity, -Infinity, 2 ** -133, 3.140625]);
  assert.ok(Number.isNaN(bf16ToF32(u16(0x7fc0))[0]));
  assert.ok(Object.is(bf16ToF32(u16(0x8000))[0], -0));
});

test('f32ToBf16 rounds to nearest, ties to even, like torch', () => {
  const one = bitsOf(1); // 0x3f800000
  assert.deepEqual([...f32ToBf16(f32(
    1,
    fromBits(one + 0x8000), // exactly halfway 0x3f80/0x3f81 → even 0x3f80
    fromBits(one + 0x18000), // halfway 0x3f81/0x3f82 → even 0x3f82
    fromBits(one + 0x8001), // just above half → up
    fromBits(one + 0x7fff), // just below half → down
    -2,
    3.4028234663852886e38, // max float32 → rounds up to inf
    Infinity,
  ))], [0x3f80, 0x3f80, 0x3f82, 0x3f81, 0x3f80, 0xc000, 0x7f80, 0x7f80]);
  const nan = f32ToBf16(f32(NaN))[0]!;
  assert.ok((nan & 0x7f80) === 0x7f80 && (nan & 0x7f) !== 0, 'NaN stays NaN');
});

test('bf16 → f32 → bf16 is the identity for every non-NaN pattern', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const back = f32ToBf16(bf16ToF32(all));
  for (let i = 0; i < 65536; i++) {
    if ((i & 0x7f80) === 0x7f80 && (i & 0x7f) !== 0) continue;
    assert.equal(back[i], i);
  }
});

test('f32ToBf16 agrees with an exact nearest-value reference on 200k random floats', () => {
  const bits = randomBits(200_000);
  const x = new Float32Array(bits.buffer);
  const got = f32ToBf16(x);
  for (let i = 0; i < bits.length; i++) {
    const v = x[i]!;
    if (Number.isNaN(v)) continue;
    const lo = bits[i]! & 0xffff0000;
    const loV = fromBits(lo);
    const hiV = fromBits(lo + 0x10000); // next bf16 away from zero (may be inf)
    const dLo = Math.abs(v - loV);
    const dHi = Math.abs(hiV - v);
    let want = lo >>> 16;
    if (dHi < dLo || (dHi === dLo && (want & 1) === 1)) want = (lo + 0x10000) >>> 16;
    if (!Number.isFinite(hiV) && dHi !== dLo) {
      // Beyond max bf16: round to inf only past the halfway point, which the distance test covers
      // except when hiV is inf (distance inf); use the halfway point of the next binade instead.
      const half = loV + (loV - fromBits(lo - 0x10000)) / 2;
      want = Math.abs(v) >= Math.abs(half) ? (lo + 0x10000) >>> 16 : lo >>> 16;
      if (Math.abs(v) === Math.abs(half)) want = (lo >>> 16) & 1 ? (lo + 0x10000) >>> 16 : lo >>> 16;
    }
    assert.equal(got[i], want, `x=${v} bits=0x${bits[i]!.toString(16)}`);
  }
});

test('f16ToF32 decodes normals, subnormals, zero, inf and NaN', () => {
  assert.deepEqual([...f16ToF32(u16(0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x3555, 0x7c00, 0xfc00, 0x0000))],
    [1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 0.333251953125, Infinity, -Infinity, 0]);
  assert.ok(Object.is(f16ToF32(u16(0x8000))[0], -0));
  assert.ok(Number.isNaN(f16ToF32(u16(0x7e00))[0]));
});

test('f32ToF16 rounds to nearest even, overflows to inf and underflows through subnormals', () => {
  assert.deepEqual([...f32ToF16(f32(
    1, -2, 65504,
    65519.99, // below the halfway point to 65536 → max half
    65520, // halfway → even → inf
    1e6, 2 ** -24, 2 ** -25 /* tie → 0 */, 2 ** -25 * 1.0000001 /* → smallest subnormal */, 3 * 2 ** -25 /* tie → even 2 */,
    1 / 3, 2 ** -14, -0, -Infinity,
  ))], [0x3c00, 0xc000, 0x7bff, 0x7bff, 0x7c00, 0x7c00, 0x0001, 0x0000, 0x0001, 0x0002, 0x3555, 0x0400, 0x8000, 0xfc00]);
  const nan = f32ToF16(f32(NaN))[0]!;
  assert.ok((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0);
});

test('f16 → f32 → f16 is the identity for every non-NaN pattern', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const back = f32ToF16(f16ToF32(all));
  for (let i = 0; i < 65536; i++) {
    if ((i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0) continue;
    assert.equal(back[i], i);
  }
});

test('f32ToF16 agrees with a nearest-half search on 100k random floats in the half range', () => {
  // Sorted non-negative finite halves (0x0000..0x7bff are increasing in value).
  const pos = f16ToF32(new Uint16Array(0x7c00).map((_, i) => i));
  const bits = randomBits(100_000, 777);
  const x = new Float32Array(bits.length);
  for (let i = 0; i < x.length; i++) x[i] = fromBits((bits[i]! & 0x80000000) | (0x30000000 + (bits[i]! % 0x17800000))); // |x| ≈ 2^-31 … 2^16
  const got = f32ToF16(x);
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]!);
    let want: number;
    if (a >= 65520) want = 0x7c00;
    else {
      let lo = 0, hi = pos.length - 1; // largest index with pos[idx] <= a
      while (lo < hi) { const m = (lo + hi + 1) >> 1; if (pos[m]! <= a) lo = m; else hi = m - 1; }
      want = lo;
      if (lo + 1 < pos.length) {
        const d0 = a - pos[lo]!, d1 = pos[lo + 1]! - a;
        if (d1 < d0 || (d1 === d0 && (lo & 1) === 1)) want = lo + 1;
      } else if (a - pos[lo]! >= 16) want = 0x7c00;
    }
    if (x[i]! < 0 || Object.is(x[i], -0)) want |= 0x8000;
    assert.equal(got[i], want, `x=${x[i]}`);
  }
});

test('conversions write into a provided output array', () => {
  const out = new Float32Array(4);
  assert.equal(bf16ToF32(u16(0x3f80, 0x4000), out), out);
  assert.deepEqual([...out], [1, 2, 0, 0]);
  assert.throws(() => bf16ToF32(u16(1, 2, 3), new Float32Array(2)), RangeError);
});
