/**
 * COCO-caption BLEU-1..4, ROUGE-L and CIDEr-D as pycocoevalcap computes them (corpus BLEU with the "closest"
 * reference length, ROUGE-L β = 1.2, CIDEr-D σ = 6 with its document frequencies over the scored set), for DriveLM's
 * language score. The reference tokenises with the Stanford PTB tokenizer (Java) first; `cocoTokenize` is an
 * approximation of it (lower-case, punctuation split off and dropped), so language scores can differ slightly.
 */
import { rougeL } from './bddx.ts';

const PUNCT_TOKENS = new Set(["''", "'", '``', '`', '.', '?', '!', ',', ':', '-', '--', '...', ';', '(', ')', '[', ']', '{', '}', '"']);

export function cocoTokenize(s: string): string {
  return s
    .toLowerCase()
    .replace(/(\.\.\.|--|[,!?;:()[\]{}"]|(?<!\d)\.|\.(?!\d))/g, ' $1 ') // a dot inside a number stays
    .split(/\s+/)
    .filter((t) => t !== '' && !PUNCT_TOKENS.has(t))
    .join(' ');
}

function ngrams(words: readonly string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let k = 1; k <= n; k++) for (let i = 0; i + k <= words.length; i++) {
    const g = words.slice(i, i + k).join(' ');
    m.set(`${k}|${g}`, (m.get(`${k}|${g}`) ?? 0) + 1);
  }
  return m;
}

/** Corpus BLEU-1..4 (`BleuScorer.compute_score(option='closest')`). */
export function bleu(cands: readonly string[], refs: readonly (readonly string[])[]): [number, number, number, number] {
  const small = 1e-9;
  const tiny = 1e-15;
  const guess = [0, 0, 0, 0];
  const correct = [0, 0, 0, 0];
  let testlen = 0;
  let reflen = 0;
  cands.forEach((c, i) => {
    const words = c.split(' ').filter(Boolean);
    const maxRef = new Map<string, number>();
    const lens: number[] = [];
    for (const r of refs[i]!) {
      const rw = r.split(' ').filter(Boolean);
      lens.push(rw.length);
      for (const [g, n] of ngrams(rw, 4)) maxRef.set(g, Math.max(maxRef.get(g) ?? 0, n));
    }
    testlen += words.length;
    reflen += lens.reduce((best, l) => (Math.abs(l - words.length) < Math.abs(best - words.length) || (Math.abs(l - words.length) === Math.abs(best - words.length) && l < best) ? l : best), lens[0] ?? 0);
    for (let k = 0; k < 4; k++) guess[k]! += Math.max(0, words.length - k);
    for (const [g, n] of ngrams(words, 4)) correct[Number(g.split('|')[0]) - 1]! += Math.min(n, maxRef.get(g) ?? 0);
  });
  const out: number[] = [];
  let b = 1;
  for (let k = 0; k < 4; k++) {
    b *= (correct[k]! + tiny) / (guess[k]! + small);
    out.push(b ** (1 / (k + 1)));
  }
  const ratio = (testlen + tiny) / (reflen + small);
  if (ratio < 1) for (let k = 0; k < 4; k++) out[k]! *= Math.exp(1 - 1 / ratio);
  return out as [number, number, number, number];
}

/** Mean ROUGE-L over the items. */
export function rougeLCorpus(cands: readonly string[], refs: readonly (readonly string[])[]): number {
  return cands.length ? cands.reduce((s, c, i) => s + rougeL(c, refs[i]!), 0) / cands.length : 0;
}

/** CIDEr-D (`CiderScorer`, σ = 6, n = 4, ×10), document frequencies from the references of these items. */
export function ciderD(cands: readonly string[], refs: readonly (readonly string[])[], sigma = 6): number {
  const n = 4;
  const df = new Map<string, number>();
  const cooked = (s: string) => ngrams(s.split(/\s+/).filter(Boolean), n);
  const crefs = refs.map((rs) => rs.map(cooked));
  for (const rs of crefs) for (const g of new Set(rs.flatMap((r) => [...r.keys()]))) df.set(g, (df.get(g) ?? 0) + 1);
  const refLen = Math.log(refs.length);
  const vec = (counts: Map<string, number>) => {
    const v = Array.from({ length: n }, () => new Map<string, number>());
    const norm = new Array<number>(n).fill(0);
    let length = 0;
    for (const [g, tf] of counts) {
      const k = Number(g.split('|')[0]) - 1;
      const x = tf * (refLen - Math.log(Math.max(1, df.get(g) ?? 0)));
      v[k]!.set(g, x);
      norm[k]! += x * x;
      if (k === 1) length += tf; // pycocoevalcap counts bigrams as the "length" (kept for parity)
    }
    return { v, norm: norm.map(Math.sqrt), length };
  };
  let total = 0;
  cands.forEach((c, i) => {
    const h = vec(cooked(c));
    const score = new Array<number>(n).fill(0);
    for (const r of crefs[i]!) {
      const rv = vec(r);
      const delta = h.length - rv.length;
      for (let k = 0; k < n; k++) {
        let val = 0;
        for (const [g, x] of h.v[k]!) val += Math.min(x, rv.v[k]!.get(g) ?? 0) * (rv.v[k]!.get(g) ?? 0);
        if (h.norm[k] !== 0 && rv.norm[k] !== 0) val /= h.norm[k]! * rv.norm[k]!;
        score[k]! += val * Math.exp(-(delta * delta) / (2 * sigma * sigma));
      }
    }
    total += ((score.reduce((s, x) => s + x, 0) / n) / crefs[i]!.length) * 10;
  });
  return cands.length ? total / cands.length : 0;
}
