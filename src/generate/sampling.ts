/**
 * Next-token selection from a row of logits: greedy, or sampling with repetition penalty, temperature,
 * top-k and top-p applied in the order and with the semantics of HF transformers' logits processors
 * (RepetitionPenaltyLogitsProcessor → MinNewTokens → TemperatureLogitsWarper → TopKLogitsWarper →
 * TopPLogitsWarper → multinomial). Works in place on the caller's Float32Array (vocab 151k), reusing
 * scratch buffers, so a decode step allocates nothing.
 */
import { fail } from '../errors.ts';
import { argmax } from '../runtime/metrics.ts';

/** Greedy choice: the one argmax the parity metrics use too (ties → lowest id, NaN never wins). */
export { argmax };

export interface SamplingOptions {
  /** false (default) = greedy: argmax after the repetition penalty, ties → lowest id (HF greedy). */
  doSample?: boolean;
  /** Divides the logits (sampling only). 0 means greedy, as in OpenAI-style APIs. Default 1. */
  temperature?: number;
  /** Keep the k highest logits (ties at the k-th value are kept, as HF does). 0 disables. Default 50 (HF default). */
  topK?: number;
  /** Nucleus sampling: keep the smallest top set with probability mass ≥ p. 1 disables. Default 1. */
  topP?: number;
  /** HF repetition penalty: seen ids' logits are divided by it if > 0, else multiplied. 1 disables. Default 1. */
  repetitionPenalty?: number;
  /** Seed of the deterministic PRNG. Default 0. */
  seed?: number;
  /** Eos logits are set to −∞ until this many tokens were generated (HF min_new_tokens). Default 0. */
  minNewTokens?: number;
  /** The ids masked by minNewTokens. */
  eosTokenIds?: readonly number[];
}

/** The fully defaulted, validated options. */
export type ResolvedSamplingOptions = Required<Omit<SamplingOptions, 'eosTokenIds'>> & { eosTokenIds: readonly number[] };

export function resolveSamplingOptions(o: SamplingOptions = {}): ResolvedSamplingOptions {
  const r = {
    doSample: o.doSample ?? false,
    temperature: o.temperature ?? 1,
    topK: o.topK ?? 50,
    topP: o.topP ?? 1,
    repetitionPenalty: o.repetitionPenalty ?? 1,
    seed: o.seed ?? 0,
    minNewTokens: o.minNewTokens ?? 0,
    eosTokenIds: o.eosTokenIds ?? [],
  };
  if (!Number.isFinite(r.temperature) || r.temperature < 0) fail(`sampling: temperature must be a number ≥ 0, got ${o.temperature}`);
  if (!Number.isInteger(r.topK) || r.topK < 0) fail(`sampling: top-k must be an integer ≥ 0, got ${o.topK}`);
  if (!Number.isFinite(r.topP) || r.topP <= 0 || r.topP > 1) fail(`sampling: top-p must be in (0, 1], got ${o.topP}`);
  if (!Number.isFinite(r.repetitionPenalty) || r.repetitionPenalty <= 0) {
    fail(`sampling: repetition penalty must be a number > 0, got ${o.repetitionPenalty}`);
  }
  if (!Number.isFinite(r.seed)) fail(`sampling: seed must be a number, got ${o.seed}`);
  if (!Number.isInteger(r.minNewTokens) || r.minNewTokens < 0) fail(`sampling: min new tokens must be an integer ≥ 0, got ${o.minNewTokens}`);
  if (r.temperature === 0) r.doSample = false;
  return r;
}

// ---------------------------------------------------------------------------------------------
// PRNG. Math.random cannot be seeded and no maintained npm PRNG is worth a dependency for 20 lines:
// xoshiro128** (Blackman & Vigna), state seeded from the number by splitmix32.

export class Xoshiro128 {
  private s = new Uint32Array(4);

  /** `stream` selects an independent sequence for the same seed (e.g. one per tensor). */
  constructor(seed: number, stream = 0) {
    // splitmix32 over the seed's low and high 32-bit halves (seeds above 2^32 still differ) and the stream.
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32) >>> 0, 0x9e3779b9) ^ Math.imul(stream >>> 0, 0x85ebca6b);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  /** A generator with the given raw state (tests compare with the reference C implementation). */
  static fromState(state: readonly [number, number, number, number]): Xoshiro128 {
    const g = new Xoshiro128(0);
    g.s.set(state.map((x) => x >>> 0));
    return g;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

// ---------------------------------------------------------------------------------------------
// Logits processors (in place). Each mirrors one HF class; see the comments for the exact rule.

/**
 * RepetitionPenaltyLogitsProcessor: for every DISTINCT id in `ids`, logit < 0 → logit·penalty, else
 * logit / penalty. `marks` (vocab-sized, all zero) dedupes without allocating; it is zero again on return.
 * Note: the reference generates from inputs_embeds, so HF's `input_ids` hold only the generated tokens
 * there — pass only the generated ids to match chat().
 */
export function applyRepetitionPenalty(
  logits: Float32Array,
  ids: ArrayLike<number>,
  penalty: number,
  marks: Uint8Array = new Uint8Array(logits.length),
): void {
  if (penalty === 1) return;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < 0 || id >= logits.length || marks[id]) continue;
    marks[id] = 1;
    const v = logits[id];
    logits[id] = v < 0 ? v * penalty : v / penalty;
  }
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id >= 0 && id < logits.length) marks[id] = 0;
  }
}

/** TemperatureLogitsWarper: logits / temperature. */
export function applyTemperature(logits: Float32Array, temperature: number): void {
  if (temperature === 1) return;
  for (let i = 0; i < logits.length; i++) logits[i] /= temperature;
}

/**
 * TopKLogitsWarper: v = k-th largest logit; every logit < v becomes −∞ (ties with v survive, so more
 * than k may remain). Uses a size-k min-heap (O(n log k)) instead of sorting 151k values; `heap` is scratch
 * of length ≥ k.
 */
export function applyTopK(logits: Float32Array, k: number, heap: Float32Array = new Float32Array(k)): void {
  const n = logits.length;
  if (k <= 0 || k >= n) return;
  let size = 0;
  for (let i = 0; i < n; i++) {
    const v = logits[i];
    if (size < k) {
      // sift up
      let j = size++;
      while (j > 0) {
        const p = (j - 1) >> 1;
        if (heap[p] <= v) break;
        heap[j] = heap[p];
        j = p;
      }
      heap[j] = v;
    } else if (v > heap[0]) {
      // replace the root, sift down
      let j = 0;
      for (;;) {
        const l = 2 * j + 1;
        if (l >= k) break;
        const r = l + 1;
        const c = r < k && heap[r] < heap[l] ? r : l;
        if (heap[c] >= v) break;
        heap[j] = heap[c];
        j = c;
      }
      heap[j] = v;
    }
  }
  const kth = heap[0];
  for (let i = 0; i < n; i++) if (logits[i] < kth) logits[i] = -Infinity;
}

/**
 * TopPLogitsWarper: sort ascending, cumulative softmax; drop entries whose cumulative probability is
 * ≤ 1 − p, always keeping the top one. Equivalently, walking from the top, keep a token while the mass
 * strictly above it is < p. Tokens with probability < (1 − p) / n are certainly dropped, so only the rest
 * is sorted — by value with the native typed-array sort (no index comparator), which gives the cut-off
 * probability; ties at the cut-off go to the lowest ids. `vals` and `probs` are vocab-sized scratch.
 */
export function applyTopP(
  logits: Float32Array,
  p: number,
  vals: Float64Array = new Float64Array(logits.length),
  probs: Float64Array = new Float64Array(logits.length),
): void {
  if (p >= 1) return;
  const n = logits.length;
  if (softmaxInto(logits, probs) === 0) return;
  const threshold = (1 - p) / n;
  let m = 0;
  for (let i = 0; i < n; i++) if (probs[i] >= threshold) vals[m++] = probs[i];
  const sorted = vals.subarray(0, m).sort(); // ascending
  let above = 0;
  let keep = 0;
  while (keep < m && (keep === 0 || above < p)) {
    above += sorted[m - 1 - keep];
    keep++;
  }
  const cutoff = sorted[m - keep];
  let tiesKept = 0;
  for (let j = m - keep; j < m && sorted[j] === cutoff; j++) tiesKept++;
  for (let i = 0; i < n; i++) {
    const q = probs[i];
    if (q > cutoff) continue;
    if (q === cutoff && tiesKept > 0) {
      tiesKept--;
      continue;
    }
    logits[i] = -Infinity;
  }
}

/** probs[i] = softmax(logits)[i] in float64; returns the normalizer (0 if every logit is −∞). */
function softmaxInto(logits: Float32Array, probs: Float64Array): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  if (max === -Infinity || Number.isNaN(max)) return 0;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    // exp(−∞) is 0 anyway; the branch skips the slow call for the many entries top-k removed.
    const e = v === -Infinity ? 0 : Math.exp(v - max);
    probs[i] = e;
    sum += e;
  }
  for (let i = 0; i < logits.length; i++) probs[i] /= sum;
  return sum;
}

/** Draws an id from softmax(logits) with a uniform u ∈ [0, 1): the first id whose cumulative mass exceeds u. */
export function sampleFromLogits(logits: Float32Array, u: number, probs: Float64Array = new Float64Array(logits.length)): number {
  if (softmaxInto(logits, probs) === 0) return argmax(logits);
  let acc = 0;
  let last = -1;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i] === -Infinity) continue;
    const q = probs[i];
    if (q === 0) continue;
    acc += q;
    last = i;
    if (u < acc) return i;
  }
  return last; // rounding left u ≥ total mass: the last candidate
}

// ---------------------------------------------------------------------------------------------

/**
 * A per-generation sampler: holds the options, the seeded PRNG and scratch buffers sized on first use.
 * `next(logits, generated)` modifies `logits` in place and returns the chosen id.
 */
export class Sampler {
  readonly options: ResolvedSamplingOptions;
  private rng: Xoshiro128;
  private marks = new Uint8Array(0);
  private vals = new Float64Array(0);
  private probs = new Float64Array(0);
  private heap: Float32Array;

  constructor(options: SamplingOptions = {}) {
    this.options = resolveSamplingOptions(options);
    this.rng = new Xoshiro128(this.options.seed);
    this.heap = new Float32Array(this.options.topK);
  }

  /**
   * Chooses the next token. `generated` = ids generated so far in this answer (used by the repetition
   * penalty and min-new-tokens, as in the reference, whose HF input_ids hold only new tokens).
   */
  next(logits: Float32Array, generated: ArrayLike<number> = []): number {
    const o = this.options;
    const n = logits.length;
    if (this.marks.length !== n) {
      this.marks = new Uint8Array(n);
      this.vals = new Float64Array(n);
      this.probs = new Float64Array(n);
    }
    applyRepetitionPenalty(logits, generated, o.repetitionPenalty, this.marks);
    if (generated.length < o.minNewTokens) {
      for (const id of o.eosTokenIds) if (id >= 0 && id < n) logits[id] = -Infinity;
    }
    if (!o.doSample) return argmax(logits);
    applyTemperature(logits, o.temperature);
    applyTopK(logits, o.topK, this.heap);
    applyTopP(logits, o.topP, this.vals, this.probs);
    return sampleFromLogits(logits, this.rng.nextFloat(), this.probs);
  }
}
