/**
 * Pillow-exact antialiased bicubic resize of 8-bit RGB images (Pillow `Image.resize(size)` with its default
 * BICUBIC filter, `libImaging/Resample.c`).
 *
 * Hand-written because no library reproduces Pillow bit for bit: the reference rounds every weight to a
 * 22-bit fixed-point integer, stretches the filter support when downscaling, runs the horizontal pass
 * first and stores its result as clipped uint8 before the vertical pass. sharp/libvips, canvas and
 * friends all differ in at least one of these, which moves pixels by ±1..3 and breaks tile parity.
 *
 * The coefficient code mirrors the C code step by step (double precision, same operation order). The two
 * passes run as WebAssembly SIMD kernels (resample.wat, ~5x faster) with these TypeScript passes as the
 * fallback; both do Pillow's exact integer arithmetic and are tested against Pillow.
 * Work is done in bands of output rows so that the uint8 intermediate stays a few MB whatever the aspect
 * ratio of the input; each intermediate row is computed by the same formula as in Pillow, so banding does
 * not change a single value.
 */
import { fail } from '../errors.ts';
import { withKernels } from './resample-wasm.ts';
import type { RgbImage } from './types.ts';

const PRECISION_BITS = 22; // 32 - 8 bits of pixel - 2 bits of headroom, as in Pillow
const HALF = 1 << (PRECISION_BITS - 1);
const CLIP_HIGH = 1 << (PRECISION_BITS + 8);
/** A Pillow resampling filter: its kernel and support (libImaging/Resample.c `struct filter`). */
export interface PillowFilter {
  support: number;
  kernel(x: number): number;
}

/** Pillow's `bicubic_filter` (a = -0.5): the default filter of `Image.resize`, the one tiling uses. */
export const BICUBIC: PillowFilter = {
  support: 2.0,
  kernel(x) {
    const a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
  },
};

/** Pillow's `bilinear_filter` (triangle), `Image.BILINEAR`. */
export const BILINEAR: PillowFilter = {
  support: 1.0,
  kernel(x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
  },
};

/** Fixed-point filter taps for one axis: output o reads `count[o]` inputs from `first[o]` with `weights[o * ksize ...]`. */
export interface AxisCoefficients {
  ksize: number;
  first: Int32Array;
  count: Int32Array;
  weights: Int32Array;
}

const MAX_COEFFICIENTS = 1 << 27;

/** Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the box [0, inSize). */
export function precomputeCoefficients(inSize: number, outSize: number, filter: PillowFilter = BICUBIC): AxisCoefficients {
  // Pillow passes the box edges as C floats; (float)in1 - (float)in0 is exact only below 2^24.
  const scale = Math.fround(inSize) / outSize;
  const filterscale = scale < 1.0 ? 1.0 : scale;
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  // The tables hold outSize * ksize (about 4 * inSize) entries, as in Pillow; bound them.
  if (outSize * ksize > MAX_COEFFICIENTS) fail(`cannot resize an axis of ${inSize} pixels to ${outSize}: too extreme (filter tables over ${MAX_COEFFICIENTS} entries)`);
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1.0 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.kernel((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    const base = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0.0 ? k[x]! / ww : k[x]!;
      // C casts (int)(±0.5 + w * 2^22): round half away from zero.
      weights[base + x] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, first, count, weights };
}

/** Pillow's `clip8`: the rounding half was added up front; shift, saturating to 0..255. */
function clip8(v: number): number {
  return v >= CLIP_HIGH ? 255 : v <= 0 ? 0 : v >> PRECISION_BITS;
}

/**
 * Taps repacked for speed: every output reads exactly `k` consecutive inputs from `start[o]`, with zero weights
 * where Pillow's window is shorter (near the borders the window is shifted inwards). Zero taps add exactly 0
 * to the integer sums, so results are unchanged; the fixed length lets the kernels below keep weights in
 * locals and unroll. `k` is rounded up to 4, 5, 6, 8 or a multiple of 4 when the axis is long enough.
 */
interface PackedTaps {
  k: number;
  start: Int32Array;
  w: Int32Array;
}

function packTaps(c: AxisCoefficients, inSize: number): PackedTaps {
  const out = c.first.length;
  let k = 0;
  for (let o = 0; o < out; o++) if (c.count[o]! > k) k = c.count[o]!;
  const padded = k <= 4 ? 4 : k <= 6 ? k : k <= 8 ? 8 : Math.ceil(k / 4) * 4;
  if (padded <= inSize) k = padded;
  const start = new Int32Array(out);
  const w = new Int32Array(out * k);
  for (let o = 0; o < out; o++) {
    const first = c.first[o]!;
    const s = Math.min(first, inSize - k);
    start[o] = s;
    for (let t = 0; t < c.count[o]!; t++) w[o * k + (first - s) + t] = c.weights[o * c.ksize + t]!;
  }
  return { k, start, w };
}

/** Rows per block of the horizontal pass: the kernels walk down a column of outputs with fixed weights. */
const H_BLOCK = 32;

/**
 * Horizontal pass over input rows [y0, y1) of `src` (width srcW) into `dst` rows 0.. (width = outputs of `t`).
 * Loop order is output column outer, row inner, so each output's weights stay in registers.
 */
function horizontalPass(src: Uint8Array, srcW: number, y0: number, y1: number, t: PackedTaps, dst: Uint8Array): void {
  const { k, start, w } = t;
  const outW = start.length;
  const inRow = srcW * 3;
  const outRow = outW * 3;
  if (k !== 4 && k !== 5 && k !== 6 && k !== 8) {
    horizontalPassLong(src, srcW, y0, y1, t, dst);
    return;
  }
  for (let b0 = y0; b0 < y1; b0 += H_BLOCK) {
    const b1 = Math.min(y1, b0 + H_BLOCK);
    for (let xx = 0; xx < outW; xx++) {
      const kb = xx * k;
      let p = b0 * inRow + start[xx]! * 3;
      let o = (b0 - y0) * outRow + xx * 3;
      if (k === 4) {
        const w0 = w[kb]!, w1 = w[kb + 1]!, w2 = w[kb + 2]!, w3 = w[kb + 3]!;
        for (let y = b0; y < b1; y++, p += inRow, o += outRow) {
          dst[o] = clip8(HALF + src[p]! * w0 + src[p + 3]! * w1 + src[p + 6]! * w2 + src[p + 9]! * w3);
          dst[o + 1] = clip8(HALF + src[p + 1]! * w0 + src[p + 4]! * w1 + src[p + 7]! * w2 + src[p + 10]! * w3);
          dst[o + 2] = clip8(HALF + src[p + 2]! * w0 + src[p + 5]! * w1 + src[p + 8]! * w2 + src[p + 11]! * w3);
        }
      } else if (k === 5) {
        const w0 = w[kb]!, w1 = w[kb + 1]!, w2 = w[kb + 2]!, w3 = w[kb + 3]!, w4 = w[kb + 4]!;
        for (let y = b0; y < b1; y++, p += inRow, o += outRow) {
          dst[o] = clip8(HALF + src[p]! * w0 + src[p + 3]! * w1 + src[p + 6]! * w2 + src[p + 9]! * w3 + src[p + 12]! * w4);
          dst[o + 1] = clip8(HALF + src[p + 1]! * w0 + src[p + 4]! * w1 + src[p + 7]! * w2 + src[p + 10]! * w3 + src[p + 13]! * w4);
          dst[o + 2] = clip8(HALF + src[p + 2]! * w0 + src[p + 5]! * w1 + src[p + 8]! * w2 + src[p + 11]! * w3 + src[p + 14]! * w4);
        }
      } else if (k === 6) {
        const w0 = w[kb]!, w1 = w[kb + 1]!, w2 = w[kb + 2]!, w3 = w[kb + 3]!, w4 = w[kb + 4]!, w5 = w[kb + 5]!;
        for (let y = b0; y < b1; y++, p += inRow, o += outRow) {
          dst[o] = clip8(HALF + src[p]! * w0 + src[p + 3]! * w1 + src[p + 6]! * w2 + src[p + 9]! * w3 + src[p + 12]! * w4 + src[p + 15]! * w5);
          dst[o + 1] = clip8(HALF + src[p + 1]! * w0 + src[p + 4]! * w1 + src[p + 7]! * w2 + src[p + 10]! * w3 + src[p + 13]! * w4 + src[p + 16]! * w5);
          dst[o + 2] = clip8(HALF + src[p + 2]! * w0 + src[p + 5]! * w1 + src[p + 8]! * w2 + src[p + 11]! * w3 + src[p + 14]! * w4 + src[p + 17]! * w5);
        }
      } else if (k === 8) {
        const w0 = w[kb]!, w1 = w[kb + 1]!, w2 = w[kb + 2]!, w3 = w[kb + 3]!;
        const w4 = w[kb + 4]!, w5 = w[kb + 5]!, w6 = w[kb + 6]!, w7 = w[kb + 7]!;
        for (let y = b0; y < b1; y++, p += inRow, o += outRow) {
          dst[o] = clip8(HALF + src[p]! * w0 + src[p + 3]! * w1 + src[p + 6]! * w2 + src[p + 9]! * w3
            + src[p + 12]! * w4 + src[p + 15]! * w5 + src[p + 18]! * w6 + src[p + 21]! * w7);
          dst[o + 1] = clip8(HALF + src[p + 1]! * w0 + src[p + 4]! * w1 + src[p + 7]! * w2 + src[p + 10]! * w3
            + src[p + 13]! * w4 + src[p + 16]! * w5 + src[p + 19]! * w6 + src[p + 22]! * w7);
          dst[o + 2] = clip8(HALF + src[p + 2]! * w0 + src[p + 5]! * w1 + src[p + 8]! * w2 + src[p + 11]! * w3
            + src[p + 14]! * w4 + src[p + 17]! * w5 + src[p + 20]! * w6 + src[p + 23]! * w7);
        }
      }
    }
  }
}

/** Horizontal pass for long windows (strong downscaling): row-major, taps four at a time when k allows. */
function horizontalPassLong(src: Uint8Array, srcW: number, y0: number, y1: number, t: PackedTaps, dst: Uint8Array): void {
  const { k, start, w } = t;
  const outW = start.length;
  const inRow = srcW * 3;
  const by4 = k % 4 === 0;
  let o = 0;
  for (let y = y0; y < y1; y++) {
    const row = y * inRow;
    for (let xx = 0; xx < outW; xx++, o += 3) {
      let kb = xx * k;
      let p = row + start[xx]! * 3;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      if (by4) {
        for (let x = 0; x < k; x += 4, kb += 4, p += 12) {
          const a = w[kb]!, b = w[kb + 1]!, c = w[kb + 2]!, d = w[kb + 3]!;
          s0 += src[p]! * a + src[p + 3]! * b + src[p + 6]! * c + src[p + 9]! * d;
          s1 += src[p + 1]! * a + src[p + 4]! * b + src[p + 7]! * c + src[p + 10]! * d;
          s2 += src[p + 2]! * a + src[p + 5]! * b + src[p + 8]! * c + src[p + 11]! * d;
        }
      } else {
        for (let x = 0; x < k; x++, kb++, p += 3) {
          const a = w[kb]!;
          s0 += src[p]! * a;
          s1 += src[p + 1]! * a;
          s2 += src[p + 2]! * a;
        }
      }
      dst[o] = clip8(s0);
      dst[o + 1] = clip8(s1);
      dst[o + 2] = clip8(s2);
    }
  }
}

/**
 * Vertical pass: output rows [yy0, yy1) from `src` whose row 0 is input row `srcRow0`; `rowLen` bytes a row.
 * Sums stay below 2^31 (255 * sum|w| * 2^22 < 1.3e9), exactly like the int32 sums in Pillow.
 */
function verticalPass(
  src: Uint8Array, rowLen: number, srcRow0: number, yy0: number, yy1: number,
  t: PackedTaps, dst: Uint8Array, acc: Int32Array,
): void {
  const { k, start, w } = t;
  const R = rowLen;
  for (let yy = yy0; yy < yy1; yy++) {
    const kb = yy * k;
    const p = (start[yy]! - srcRow0) * R;
    const o = yy * R;
    if (k === 4) {
      const w0 = w[kb]!, w1 = w[kb + 1]!, w2 = w[kb + 2]!, w3 = w[kb + 3]!;
      const p1 = p + R, p2 = p1 + R, p3 = p2 + R;
      for (let i = 0; i < R; i++) dst[o + i] = clip8(HALF + src[p + i]! * w0 + src[p1 + i]! * w1 + src[p2 + i]! * w2 + src[p3 + i]! * w3);
    } else if (k === 5) {
      const w0 = w[kb]!, w1 = w[kb + 1]!, w2 = w[kb + 2]!, w3 = w[kb + 3]!, w4 = w[kb + 4]!;
      const p1 = p + R, p2 = p1 + R, p3 = p2 + R, p4 = p3 + R;
      for (let i = 0; i < R; i++) dst[o + i] = clip8(HALF + src[p + i]! * w0 + src[p1 + i]! * w1 + src[p2 + i]! * w2 + src[p3 + i]! * w3 + src[p4 + i]! * w4);
    } else if (k === 6) {
      const w0 = w[kb]!, w1 = w[kb + 1]!, w2 = w[kb + 2]!, w3 = w[kb + 3]!, w4 = w[kb + 4]!, w5 = w[kb + 5]!;
      const p1 = p + R, p2 = p1 + R, p3 = p2 + R, p4 = p3 + R, p5 = p4 + R;
      for (let i = 0; i < R; i++) {
        dst[o + i] = clip8(HALF + src[p + i]! * w0 + src[p1 + i]! * w1 + src[p2 + i]! * w2 + src[p3 + i]! * w3 + src[p4 + i]! * w4 + src[p5 + i]! * w5);
      }
    } else if (k === 8) {
      const w0 = w[kb]!, w1 = w[kb + 1]!, w2 = w[kb + 2]!, w3 = w[kb + 3]!;
      const w4 = w[kb + 4]!, w5 = w[kb + 5]!, w6 = w[kb + 6]!, w7 = w[kb + 7]!;
      const p1 = p + R, p2 = p1 + R, p3 = p2 + R, p4 = p3 + R, p5 = p4 + R, p6 = p5 + R, p7 = p6 + R;
      for (let i = 0; i < R; i++) {
        dst[o + i] = clip8(HALF + src[p + i]! * w0 + src[p1 + i]! * w1 + src[p2 + i]! * w2 + src[p3 + i]! * w3
          + src[p4 + i]! * w4 + src[p5 + i]! * w5 + src[p6 + i]! * w6 + src[p7 + i]! * w7);
      }
    } else {
      // Long windows (strong downscaling): accumulate four input rows at a time.
      acc.fill(HALF, 0, R);
      let y = 0;
      let q = p;
      for (; y + 4 <= k; y += 4, q += 4 * R) {
        const w0 = w[kb + y]!, w1 = w[kb + y + 1]!, w2 = w[kb + y + 2]!, w3 = w[kb + y + 3]!;
        const q1 = q + R, q2 = q1 + R, q3 = q2 + R;
        for (let i = 0; i < R; i++) acc[i] = acc[i]! + src[q + i]! * w0 + src[q1 + i]! * w1 + src[q2 + i]! * w2 + src[q3 + i]! * w3;
      }
      for (; y < k; y++, q += R) {
        const wy = w[kb + y]!;
        for (let i = 0; i < R; i++) acc[i] = acc[i]! + src[q + i]! * wy;
      }
      for (let i = 0; i < R; i++) dst[o + i] = clip8(acc[i]!);
    }
  }
}

/** Target size of the uint8 intermediate per band; bounds memory for extreme aspect ratios. */
const BAND_BYTES = 4 << 20;
/** Largest (output width x input height) accepted, see resizeBicubic. */
export const MAX_INTERMEDIATE_PIXELS = 1 << 26;

/** `img.resize((width, height))` with Pillow's default (BICUBIC) filter, bit-exact. */
export function resizeBicubic(img: RgbImage, width: number, height: number): RgbImage {
  return resizePillow(img, width, height, BICUBIC);
}

/** `img.resize((width, height), filter)`, bit-exact with Pillow (horizontal pass first, as Pillow). */
export function resizePillow(img: RgbImage, width: number, height: number, filter: PillowFilter): RgbImage {
  const { width: inW, height: inH, data } = img;
  if (width === inW && height === inH) return { width, height, data: new Uint8Array(data) }; // Pillow returns a copy
  const needH = width !== inW;
  const needV = height !== inH;
  // Pillow's horizontal-first order costs (output width x input height) intermediate pixels and work in
  // proportion; past 2^26 the reference itself needs gigabytes and minutes (e.g. 3 x 10,000,000 resized to
  // 448 x 5376), so refuse clearly instead of appearing to hang.
  if (width * inH > MAX_INTERMEDIATE_PIXELS) {
    fail(`image of ${inW}x${inH} pixels is too extreme to resize to ${width}x${height} (${width * inH} intermediate pixels, limit ${MAX_INTERMEDIATE_PIXELS})`);
  }
  if (!(width > 0 && height > 0 && inW > 0 && inH > 0)) fail(`cannot resize ${inW}x${inH} to ${width}x${height}`);
  // A pass over an axis of length 1 is an exact copy (one tap of weight 2^22), so a 1-pixel-wide (or -high)
  // image can run the other pass alone and be broadcast: same bytes, without the huge intermediate that an
  // input like 1 x 100000 would otherwise need.
  if (inW === 1 && needH && needV) return broadcast(resizePillow(img, 1, height, filter), width, height);
  if (inH === 1 && needH && needV) return broadcast(resizePillow(img, width, 1, filter), width, height);
  if (engine === 'wasm') {
    const r = resizeWasm(img, width, height, needH, needV, filter);
    if (r) return r;
  }
  const out = new Uint8Array(width * height * 3);
  if (!needV) {
    horizontalPass(data, inW, 0, inH, packTaps(precomputeCoefficients(inW, width, filter), inW), out);
    return { width, height, data: out };
  }
  const vt = packTaps(precomputeCoefficients(inH, height, filter), inH);
  const rowLen = width * 3;
  const acc = new Int32Array(rowLen);
  if (!needH) {
    verticalPass(data, rowLen, 0, 0, height, vt, out, acc);
    return { width, height, data: out };
  }
  const ht = packTaps(precomputeCoefficients(inW, width, filter), inW);
  let band = new Uint8Array(0);
  forEachBand(vt, height, bandRows(vt.k, rowLen), (r0, r1, yy0, yy1) => {
    const need = (r1 - r0) * rowLen;
    if (band.length < need) band = new Uint8Array(need);
    horizontalPass(data, inW, r0, r1, ht, band);
    verticalPass(band, rowLen, r0, yy0, yy1, vt, out, acc);
  });
  return { width, height, data: out };
}

/** Which implementation of the two passes runs: WebAssembly SIMD where available, else TypeScript. */
let engine: 'wasm' | 'js' = 'wasm';

/** Selects the pass implementation (tests run both; 'wasm' silently falls back to 'js' where unsupported). */
export function setResampleEngine(e: 'wasm' | 'js'): void {
  engine = e;
}

/**
 * Band height in input rows for a vertical window of k rows and rows of rowLen bytes: at least 4 windows
 * per band, so that rows shared by neighbouring bands are recomputed at most ~1.3 times.
 */
function bandRows(k: number, rowLen: number): number {
  return Math.max(4 * k, Math.floor(BAND_BYTES / rowLen));
}

/**
 * Splits the output rows into bands for the two-pass resize (both engines): each band [yy0, yy1) grows
 * while the input rows [r0, r1) its vertical windows need fit in maxRows (always at least one output row).
 */
function forEachBand(
  vt: { start: Int32Array; k: number },
  height: number,
  maxRows: number,
  pass: (r0: number, r1: number, yy0: number, yy1: number) => void,
): void {
  let yy0 = 0;
  while (yy0 < height) {
    const r0 = vt.start[yy0]!;
    let yy1 = yy0 + 1;
    while (yy1 < height && vt.start[yy1]! + vt.k - r0 <= maxRows) yy1++;
    const r1 = vt.start[yy1 - 1]! + vt.k;
    pass(r0, r1, yy0, yy1);
    yy0 = yy1;
  }
}

/**
 * The same resize with the WebAssembly kernels (resample.wat); null when they cannot run (no WebAssembly,
 * or rows narrower than one 16-byte vector for the vertical pass). Memory layout, 16-byte aligned:
 * source | band (uint8 intermediate) | output | tap tables.
 */
function resizeWasm(img: RgbImage, width: number, height: number, needH: boolean, needV: boolean, filter: PillowFilter): RgbImage | null {
  const { width: inW, height: inH, data } = img;
  const rowLen = width * 3;
  if (needV && rowLen < 16) return null;
  const ht = needH ? packTaps(precomputeCoefficients(inW, width, filter), inW) : null;
  const vt = needV ? packTaps(precomputeCoefficients(inH, height, filter), inH) : null;
  const align = (n: number) => (n + 31) & ~15; // + slack for the kernels' one-byte over-read/-write
  const srcOff = 0;
  const bandRowsMax = ht && vt ? Math.min(bandRows(vt.k, rowLen), inH) : 0;
  const bandOff = align(srcOff + data.length);
  const outOff = align(bandOff + bandRowsMax * rowLen);
  const outLen = width * height * 3;
  let p = align(outOff + outLen);
  const table = (a: Int32Array | undefined) => {
    const off = p;
    p = align(p + (a ? a.length * 4 : 0));
    return off;
  };
  const hStart = table(ht?.start);
  const hW = table(ht?.w);
  const vStart = table(vt?.start);
  const vW = table(vt?.w);
  return withKernels(p, (k, mem) => {
    const m = mem();
    m.set(data, srcOff);
    const i32 = new Int32Array(m.buffer);
    if (ht) {
      i32.set(ht.start, hStart >> 2);
      i32.set(ht.w, hW >> 2);
    }
    if (vt) {
      i32.set(vt.start, vStart >> 2);
      i32.set(vt.w, vW >> 2);
    }
    if (ht && !vt) {
      k.horizontal(srcOff, inW * 3, 0, inH, hStart, hW, ht.k, width, outOff);
    } else if (vt && !ht) {
      k.vertical(srcOff, 0, rowLen, vStart, vW, vt.k, 0, height, outOff);
    } else if (ht && vt) {
      forEachBand(vt, height, bandRowsMax, (r0, r1, yy0, yy1) => {
        k.horizontal(srcOff, inW * 3, r0, r1, hStart, hW, ht.k, width, bandOff);
        k.vertical(bandOff, r0, rowLen, vStart, vW, vt.k, yy0, yy1, outOff);
      });
    }
    return { width, height, data: mem().slice(outOff, outOff + outLen) };
  });
}

/** Stretches a 1-pixel-wide or 1-pixel-high image to width x height by repeating it. */
function broadcast(img: RgbImage, width: number, height: number): RgbImage {
  const out = new Uint8Array(width * height * 3);
  const rowLen = width * 3;
  if (img.width === 1) {
    for (let y = 0; y < height; y++) {
      const r = img.data[y * 3]!, g = img.data[y * 3 + 1]!, b = img.data[y * 3 + 2]!;
      for (let o = y * rowLen, e = o + rowLen; o < e; o += 3) {
        out[o] = r;
        out[o + 1] = g;
        out[o + 2] = b;
      }
    }
  } else {
    for (let y = 0; y < height; y++) out.set(img.data.subarray(0, rowLen), y * rowLen);
  }
  return { width, height, data: out };
}
