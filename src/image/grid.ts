/**
 * The tile grid of InternVL's dynamic high resolution (`dynamic_preprocess` / `find_closest_aspect_ratio`).
 * All arithmetic is IEEE double, as in the Python reference; ties compare exactly.
 */
import { TILE_SIZE } from './types.ts';

/** A grid `[cols, rows]`. */
export type Grid = [number, number];

/**
 * Candidate grids with `minNum <= cols*rows <= maxNum`, sorted by tile count ascending. The reference sorts a
 * Python set, so the order inside an equal-count group is hash-dependent; the spec proves it never changes the
 * choice, so any fixed order is correct (here: cols ascending).
 */
export function candidateGrids(minNum: number, maxNum: number): Grid[] {
  const out: Grid[] = [];
  for (let n = Math.max(1, minNum); n <= maxNum; n++) {
    for (let i = 1; i <= n; i++) if (n % i === 0) out.push([i, n / i]);
  }
  return out;
}

/** `find_closest_aspect_ratio`: the grid whose ratio is nearest W/H; on an exact tie the larger grid wins only
 * if the image area exceeds half the pixel area of that grid. */
export function chooseGrid(width: number, height: number, minNum: number, maxNum: number, imageSize = TILE_SIZE): Grid {
  const aspect = width / height;
  const area = width * height;
  let bestDiff = Infinity;
  let best: Grid = [1, 1];
  for (const [i, j] of candidateGrids(minNum, maxNum)) {
    const diff = Math.abs(aspect - i / j);
    if (diff < bestDiff) {
      bestDiff = diff;
      best = [i, j];
    } else if (diff === bestDiff) {
      if (area > 0.5 * imageSize * imageSize * i * j) best = [i, j];
    }
  }
  return best;
}
