/**
 * Drop-path masks for one micro-batch (training.md §8.1; the graph side is model/drop-path.ts): per
 * mask input and tile, 0 with the branch's rate p, else 1/(1−p) — the reference's
 * `bernoulli_(1 − p).div_(1 − p)`. Every draw is a function of (seed, micro-batch index), so a
 * resumed run draws the same masks.
 */
import type { DropPathInput } from '../../model/drop-path.ts';
import { generator, STREAM } from './rng.ts';

export function dropPathMasks(inputs: readonly DropPathInput[], tiles: number, seed: number, micro: number): Map<string, Float32Array> {
  const next = generator(seed, STREAM.dropPath, micro);
  const masks = new Map<string, Float32Array>();
  for (const d of inputs) {
    const keep = 1 / (1 - d.rate);
    masks.set(d.name, Float32Array.from({ length: tiles }, () => (next() < d.rate ? 0 : keep)));
  }
  return masks;
}
