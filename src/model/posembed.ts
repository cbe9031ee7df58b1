/**
 * Position-embedding resize for tile sizes other than the trained one (architecture.md §3.2):
 * PyTorch `F.interpolate(mode='bicubic', align_corners=False)` semantics — A = −0.75, source
 * coordinate (dst + 0.5)·in/out − 0.5 without clamping, taps clamped to the edge, x then y.
 * Hand-written: a 32×32 grid is tiny, and no npm library reproduces PyTorch's kernel exactly.
 */
const A = -0.75;

function cubicWeights(t: number): [number, number, number, number] {
  const c1 = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1; // |x| ≤ 1
  const c2 = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2
  return [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)];
}

interface Taps { idx: Int32Array; w: Float64Array }

function taps(inSize: number, outSize: number): Taps {
  const idx = new Int32Array(outSize * 4);
  const w = new Float64Array(outSize * 4);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = (o + 0.5) * scale - 0.5;
    const f = Math.floor(src);
    const ws = cubicWeights(src - f);
    for (let k = 0; k < 4; k++) {
      idx[o * 4 + k] = Math.min(Math.max(f - 1 + k, 0), inSize - 1);
      w[o * 4 + k] = ws[k]!;
    }
  }
  return { idx, w };
}

/**
 * Resizes a `[1, 1 + g², C]` position embedding (class row first, grid row-major) to `outGrid`²
 * patches; the class row is kept as is.
 */
export function resizePositionEmbedding(pos: Float32Array, inGrid: number, outGrid: number, C: number): Float32Array {
  const out = new Float32Array((1 + outGrid * outGrid) * C);
  out.set(pos.subarray(0, C), 0);
  // Square grid: the same taps serve x and y.
  const tx = taps(inGrid, outGrid);
  const ty = tx;
  const row = new Float64Array(4 * C);
  for (let oy = 0; oy < outGrid; oy++) {
    for (let ox = 0; ox < outGrid; ox++) {
      row.fill(0);
      for (let ky = 0; ky < 4; ky++) {
        const sy = ty.idx[oy * 4 + ky]!;
        for (let kx = 0; kx < 4; kx++) {
          const sx = tx.idx[ox * 4 + kx]!;
          const wx = tx.w[ox * 4 + kx]!;
          const base = (1 + sy * inGrid + sx) * C;
          for (let c = 0; c < C; c++) row[ky * C + c]! += wx * pos[base + c]!;
        }
      }
      const o = (1 + oy * outGrid + ox) * C;
      for (let c = 0; c < C; c++) {
        let v = 0;
        for (let ky = 0; ky < 4; ky++) v += ty.w[oy * 4 + ky]! * row[ky * C + c]!;
        out[o + c] = v;
      }
    }
  }
  return out;
}
