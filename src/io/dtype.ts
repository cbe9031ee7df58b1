/**
 * Bit-exact conversions between float32 and the 16-bit float formats stored in checkpoints.
 * Hand-written because no maintained npm package converts whole typed arrays without per-element
 * allocation, and these are a few lines each. Host byte order is little-endian (checked in
 * safetensors.ts), so Uint16Array/Uint32Array views read the stored bytes directly.
 */

/** bfloat16 → float32: the 16 bits are the high half of the float32 word (exact). */
export function bf16ToF32(src: Uint16Array, out?: Float32Array): Float32Array {
  const dst = out ?? new Float32Array(src.length);
  if (dst.length < src.length) throw new RangeError('bf16ToF32: output too short');
  const bits = new Uint32Array(dst.buffer, dst.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) bits[i] = src[i]! << 16;
  return dst;
}

/** float32 → bfloat16 with round-to-nearest-even (as torch's `.to(torch.bfloat16)`); NaN stays NaN. */
export function f32ToBf16(src: Float32Array, out?: Uint16Array): Uint16Array {
  const dst = out ?? new Uint16Array(src.length);
  if (dst.length < src.length) throw new RangeError('f32ToBf16: output too short');
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const x = bits[i]!;
    if ((x & 0x7fffffff) > 0x7f800000) {
      dst[i] = (x >>> 16) | 0x0040; // quiet NaN, keep sign and payload top bits
    } else {
      // Adding 0x7fff plus the lowest kept bit rounds half to even; cannot overflow past ±inf.
      dst[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    }
  }
  return dst;
}

let f16Table: Float32Array | undefined;

/** All 65,536 half-precision values as float32 (256 KiB), built once: conversion is then a lookup. */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    let v: number;
    if (exp === 0) v = mant * 2 ** -24; // zero / subnormal
    else if (exp === 31) v = mant === 0 ? Infinity : NaN;
    else v = (1024 + mant) * 2 ** (exp - 25);
    t[h] = sign * v;
  }
  // Keep NaN payloads/signs as the hardware conversion does (bits shifted into place).
  const tb = new Uint32Array(t.buffer);
  for (let h = 0; h < 65536; h++) {
    if (((h >>> 10) & 0x1f) === 31 && (h & 0x3ff) !== 0) tb[h] = ((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13);
  }
  f16Table = t;
  return t;
}

/** IEEE float16 → float32 (exact, including subnormals, ±inf, NaN). */
export function f16ToF32(src: Uint16Array, out?: Float32Array): Float32Array {
  const dst = out ?? new Float32Array(src.length);
  if (dst.length < src.length) throw new RangeError('f16ToF32: output too short');
  const t = halfTable();
  for (let i = 0; i < src.length; i++) dst[i] = t[src[i]!]!;
  return dst;
}

/** float32 → IEEE float16 with round-to-nearest-even; overflow → ±inf, underflow → subnormal/±0. */
export function f32ToF16(src: Float32Array, out?: Uint16Array): Uint16Array {
  const dst = out ?? new Uint16Array(src.length);
  if (dst.length < src.length) throw new RangeError('f32ToF16: output too short');
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const x = bits[i]!;
    const sign = (x >>> 16) & 0x8000;
    const e = (x >>> 23) & 0xff;
    let m = x & 0x7fffff;
    if (e === 255) {
      dst[i] = sign | 0x7c00 | (m !== 0 ? 0x200 | (m >>> 13) : 0);
      continue;
    }
    const he = e - 112; // rebias 127 → 15
    if (he >= 31) {
      dst[i] = sign | 0x7c00;
    } else if (he <= 0) {
      if (he < -10) {
        dst[i] = sign; // below half the smallest subnormal: rounds to zero
        continue;
      }
      m |= 0x800000;
      const shift = 14 - he;
      let h = m >>> shift;
      const rem = m & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && (h & 1) === 1)) h++;
      dst[i] = sign | h; // a carry turns the largest subnormal into the smallest normal, correctly
    } else {
      let h = (he << 10) | (m >>> 13);
      const rem = m & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // carry may reach inf: correct
      dst[i] = sign | h;
    }
  }
  return dst;
}

/** The arrays end to end in one new Float32Array (a single part is returned as is). */
export function concatFloat32(parts: readonly Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
