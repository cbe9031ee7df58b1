/**
 * AdamW as the reference's DeepSpeed config builds it (training.md §8): β₁ 0.9, β₂ 0.999, ε 1e-8,
 * bias correction, decoupled weight decay on every trainable tensor (one parameter group), fp32
 * state; and clipping of the gradients' global L2 norm (max 1.0) the way torch/DeepSpeed do it.
 * Small parameter sets (LoRA, projector) are updated here in TypeScript.
 */
export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export interface AdamWState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  state: AdamWState = { step: 0, m: new Map(), v: new Map() };

  constructor(opts: AdamWOptions = {}) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
  }

  /** One update of every parameter in place: p ← p − lr·(m̂ / (√v̂ + ε) + wd·p). */
  step(params: ReadonlyMap<string, Float32Array>, grads: ReadonlyMap<string, Float32Array>, lr: number): void {
    const t = ++this.state.step;
    const bc1 = 1 - this.beta1 ** t;
    const bc2 = 1 - this.beta2 ** t;
    for (const [name, p] of params) {
      const g = grads.get(name);
      if (!g || g.length !== p.length) throw new Error(`AdamW: no gradient of the right size for '${name}'`);
      let m = this.state.m.get(name);
      let v = this.state.v.get(name);
      if (!m || !v) {
        m = new Float32Array(p.length);
        v = new Float32Array(p.length);
        this.state.m.set(name, m);
        this.state.v.set(name, v);
      }
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]!;
        const mi = (m[i] = this.beta1 * m[i]! + (1 - this.beta1) * gi);
        const vi = (v[i] = this.beta2 * v[i]! + (1 - this.beta2) * gi * gi);
        const update = mi / bc1 / (Math.sqrt(vi / bc2) + this.eps);
        p[i] = p[i]! - lr * (update + this.weightDecay * p[i]!);
      }
    }
  }
}

/** Global L2 norm of all gradients (double accumulation). */
export function globalNorm(grads: Iterable<Float32Array>): number {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  return Math.sqrt(s);
}

/**
 * Scales the gradients in place by max/(norm + 1e-6) when that is below 1 (torch.nn.utils
 * clip_grad_norm_ and DeepSpeed's clipping); returns the norm before clipping.
 */
export function clipGradNorm(grads: Iterable<Float32Array>, maxNorm: number): number {
  const list = [...grads];
  const norm = globalNorm(list);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const g of list) for (let i = 0; i < g.length; i++) g[i] = g[i]! * coef;
  return norm;
}
