/**
 * The reference's learning-rate schedule (training.md §8): HF `cosine` with linear warmup,
 * warmup_steps = ⌈warmup_ratio · total⌉, k = 0-based optimizer step (so the first update uses lr 0).
 */
export interface Schedule {
  lr: number;
  totalSteps: number;
  warmupSteps: number;
}

/** ⌈ratio · total⌉ in double precision, exactly as Python's math.ceil does (240 · 0.03 → 8). */
export function warmupSteps(totalSteps: number, ratio: number): number {
  return Math.ceil(totalSteps * ratio);
}

export function learningRate(k: number, s: Schedule): number {
  if (k < s.warmupSteps) return (s.lr * k) / Math.max(1, s.warmupSteps);
  const progress = (k - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps);
  return s.lr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}
