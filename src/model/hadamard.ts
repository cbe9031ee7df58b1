/**
 * The normalized Sylvester–Hadamard matrix H [b, b] (b a power of two; H·Hᵀ = I, symmetric), row-major.
 * Rotating a linear's input in blocks of b (x·H per block) and its weight columns the same way leaves
 * x·Wᵀ unchanged but spreads a block's large values over all of it (QuaRot): one activation scale per
 * row then loses ~half as much to int8 rounding (README "Precisions").
 */
export function hadamard(b: number): Float32Array {
  if (b < 1 || (b & (b - 1)) !== 0) throw new Error(`hadamard: ${b} is not a power of two`);
  const h = new Float32Array(b * b);
  const norm = 1 / Math.sqrt(b);
  // Sylvester: H[i][j] = (−1)^popcount(i & j)
  for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) {
    let v = i & j;
    let parity = 0;
    while (v) { parity ^= 1; v &= v - 1; }
    h[i * b + j] = parity ? -norm : norm;
  }
  return h;
}
