/**
 * Block quantization of a linear weight W [N, K] (PyTorch layout: one row per output) into the
 * input layout of com.microsoft `MatMulNBits`:
 *   B       uint8 [N, ceil(K / block), block · bits / 8]   codes of each block, low nibble first (4-bit)
 *   scales  float32 [N, ceil(K / block)]
 *   (no zero_points input: the op's default zero point is 2^(bits−1), i.e. symmetric codes)
 * dequantized as (code − 2^(bits−1)) · scale.
 *
 * The scale is chosen like llama.cpp's q4_0 / q8_0: the block's value of largest magnitude maps to the
 * most negative code (−8 / −128), which uses the whole asymmetric code range for that value's sign.
 * Written by hand because no npm package quantizes into MatMulNBits' layout.
 */
export type QuantBits = 4 | 8;

export interface QuantizedMatrix {
  bits: QuantBits;
  blockSize: number;
  /** Rows (output features). */
  n: number;
  /** Columns (input features). */
  k: number;
  /** [n, blocks, blockSize · bits / 8] */
  packed: Uint8Array;
  /** [n, blocks] */
  scales: Float32Array;
}

export function quantBlocks(k: number, blockSize: number): number {
  return Math.ceil(k / blockSize);
}

/**
 * Quantizes a row-major float32 matrix [n, k]. A last partial block is padded with zeros (code = zero point).
 */
export function quantizeMatrix(w: Float32Array, n: number, k: number, bits: QuantBits, blockSize: number): QuantizedMatrix {
  if (w.length !== n * k) throw new Error(`quantizeMatrix: ${w.length} values for [${n}, ${k}]`);
  if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) throw new Error(`quantizeMatrix: block size ${blockSize} is not a power of two ≥ 16`);
  const blocks = quantBlocks(k, blockSize);
  const blob = (blockSize * bits) / 8;
  const packed = new Uint8Array(n * blocks * blob);
  const scales = new Float32Array(n * blocks);
  const zp = 1 << (bits - 1); // 8 or 128
  const qmax = (1 << bits) - 1; // 15 or 255
  const codes = new Uint8Array(blockSize);
  for (let r = 0; r < n; r++) {
    const row = r * k;
    for (let b = 0; b < blocks; b++) {
      const start = b * blockSize;
      const end = Math.min(start + blockSize, k);
      let amax = 0;
      let vmax = 0;
      for (let i = start; i < end; i++) {
        const v = w[row + i]!;
        const a = Math.abs(v);
        if (a > amax) {
          amax = a;
          vmax = v;
        }
      }
      // Scale stored as float32; codes are computed with that exact float32 scale.
      const d = Math.fround(vmax / -zp);
      const inv = d !== 0 ? 1 / d : 0;
      codes.fill(zp);
      for (let i = start; i < end; i++) {
        const q = Math.round(w[row + i]! * inv) + zp;
        codes[i - start] = q < 0 ? 0 : q > qmax ? qmax : q;
      }
      scales[r * blocks + b] = d;
      const out = (r * blocks + b) * blob;
      if (bits === 8) {
        packed.set(codes, out);
      } else {
        for (let i = 0; i < blob; i++) packed[out + i] = codes[2 * i]! | (codes[2 * i + 1]! << 4);
      }
    }
  }
  return { bits, blockSize, n, k, packed, scales };
}

/** The float32 matrix [n, k] the op computes with (for tests and error estimates). */
export function dequantizeMatrix(q: QuantizedMatrix): Float32Array {
  const { n, k, bits, blockSize } = q;
  const blocks = quantBlocks(k, blockSize);
  const blob = (blockSize * bits) / 8;
  const zp = 1 << (bits - 1);
  const out = new Float32Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < k; i++) {
      const b = Math.floor(i / blockSize);
      const j = i - b * blockSize;
      const base = (r * blocks + b) * blob;
      const code = bits === 8 ? q.packed[base + j]! : (q.packed[base + (j >> 1)]! >> ((j & 1) * 4)) & 15;
      out[r * k + i] = (code - zp) * q.scales[r * blocks + b]!;
    }
  }
  return out;
}

/**
 * Per-output-channel int8 quantization of W [n, k] into the input layout of com.microsoft
 * `DynamicQuantizeMatMul` (y = x · B scaled per column, x quantized to uint8 per call):
 *   weights int8 [k, n]   (transposed: the op multiplies x [.., k] by B [k, n])
 *   scales  float32 [n]   codes −127..127, value = code · scale (symmetric, no zero point)
 * ORT runs it on MLAS's u8s8 QGEMM (AVX-512 VNNI here), ~2× MatMulNBits at hundreds of rows
 * (README "Precisions"). The scale maps the row's largest magnitude to 127 (symmetric codes).
 * On CPUs without VNNI, u8s8's 16-bit intermediate sums can saturate; the session option
 * `session.x64quantprecision` (session.ts) makes ORT switch such weights to u8u8 there.
 */
export interface ChannelQuantizedMatrix {
  n: number;
  k: number;
  /** [k, n] */
  weights: Int8Array;
  /** [n] */
  scales: Float32Array;
}

export function quantizeChannels(w: Float32Array, n: number, k: number): ChannelQuantizedMatrix {
  if (w.length !== n * k) throw new Error(`quantizeChannels: ${w.length} values for [${n}, ${k}]`);
  const weights = new Int8Array(k * n);
  const scales = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    const row = r * k;
    let amax = 0;
    for (let i = 0; i < k; i++) amax = Math.max(amax, Math.abs(w[row + i]!));
    const d = Math.fround(amax / 127);
    scales[r] = d;
    const inv = d !== 0 ? 1 / d : 0;
    for (let i = 0; i < k; i++) {
      const q = Math.round(w[row + i]! * inv);
      weights[i * n + r] = q < -127 ? -127 : q > 127 ? 127 : q;
    }
  }
  return { n, k, weights, scales };
}

/** The float32 matrix [n, k] of a channel-quantized weight (for tests and error estimates). */
export function dequantizeChannels(q: ChannelQuantizedMatrix): Float32Array {
  const out = new Float32Array(q.n * q.k);
  for (let r = 0; r < q.n; r++) for (let i = 0; i < q.k; i++) out[r * q.k + i] = q.weights[i * q.n + r]! * q.scales[r]!;
  return out;
}

/**
 * The Hadamard block a rotated linear of input width k uses: the widest of 64, 32, 16 dividing k (a
 * 64-block already spreads a silu(gate)·up row's peaks about as well as wider ones; its online
 * rotation is one MatMul by H [64, 64]), or null (k not a multiple of 16: not rotated).
 */
export function hadamardBlock(k: number): number | null {
  for (const b of [64, 32, 16]) if (k % b === 0) return b;
  return null;
}

/**
 * W [n, k] with each row rotated in blocks of b: row·H per block, by the fast Walsh–Hadamard transform
 * (log2 b butterfly passes in float64, then the 1/√b norm: the same values as the product with
 * hadamard(b), in n·k·log2 b operations instead of n·k·b).
 */
export function rotateColumns(w: Float32Array, n: number, k: number, b: number): Float32Array {
  if (w.length !== n * k || k % b !== 0 || b < 1 || (b & (b - 1)) !== 0) throw new Error(`rotateColumns: [${n}, ${k}] in blocks of ${b}`);
  const out = new Float32Array(w.length);
  const v = new Float64Array(b);
  const norm = 1 / Math.sqrt(b);
  for (let s = 0; s < w.length; s += b) {
    for (let i = 0; i < b; i++) v[i] = w[s + i]!;
    for (let h = 1; h < b; h *= 2) {
      for (let i = 0; i < b; i += 2 * h) {
        for (let j = i; j < i + h; j++) {
          const x = v[j]!;
          const y = v[j + h]!;
          v[j] = x + y;
          v[j + h] = x - y;
        }
      }
    }
    for (let i = 0; i < b; i++) out[s + i] = v[i]! * norm;
  }
  return out;
}
