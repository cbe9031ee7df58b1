/**
 * Counter-based randomness for training: every random draw is a pure function of (seed, stream,
 * index), so a resumed run reproduces the data order and dropout masks of an uninterrupted one
 * without saving generator state. (Bit-exact equality with the reference's NumPy/torch generators is
 * out of scope, training.md §13.7.)
 */

/** splitmix32-style mix of three integers → uint32. */
function mix(a: number, b: number, c: number): number {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be59b, 0xc2b2ae35) ^ Math.imul(c + 0x7f4a7c15, 0x27d4eb2f)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** A sequential generator (mulberry32) seeded from (seed, stream, index). */
export function generator(seed: number, stream: number, index: number): () => number {
  let a = mix(seed, stream, index);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates permutation of 0..n−1 for one epoch. */
export function permutation(n: number, seed: number, epoch: number): Uint32Array {
  const p = new Uint32Array(n).map((_, i) => i);
  const next = generator(seed, 1, epoch);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/** Streams of the training run (keep distinct so draws never overlap). */
// dropout uses 2 + 16·j (one stream per LoRA module), so dropPath takes 4, a value none of those hit.
export const STREAM = { order: 1, dropout: 2, loraInit: 3, dropPath: 4, replay: 5 } as const;
