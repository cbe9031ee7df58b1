/**
 * Log-probabilities of generated tokens as OpenAI's `logprobs` reports them: log-softmax of the
 * model's raw next-token logits (before repetition penalty, temperature or top-k/top-p), for the chosen
 * token and the k most likely ones.
 */
export interface TokenLogprob {
  id: number;
  logprob: number;
  /** The k most likely ids, most likely first (ties → lower id). */
  top: { id: number; logprob: number }[];
}

/** `logits` is one raw row [vocab] (not modified). */
export function tokenLogprob(logits: Float32Array, id: number, k: number): TokenLogprob {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  const lse = max + Math.log(sum);
  // k ≤ 20: a sorted insertion list beats sorting the vocabulary.
  const top: number[] = [];
  for (let i = 0; i < logits.length && k > 0; i++) {
    const v = logits[i]!;
    if (top.length === k && v <= logits[top[k - 1]!]!) continue;
    let j: number;
    if (top.length < k) j = top.push(i) - 1;
    else top[(j = k - 1)] = i;
    for (; j > 0 && logits[top[j - 1]!]! < v; j--) [top[j], top[j - 1]] = [top[j - 1]!, i];
  }
  return { id, logprob: logits[id]! - lse, top: top.map((t) => ({ id: t, logprob: logits[t]! - lse })) };
}
