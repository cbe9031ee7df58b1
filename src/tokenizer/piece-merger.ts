/**
 * The BPE merge loop for SentencePiece vocabularies, written here because @huggingface/tokenizers'
 * `BPE.bpe()` — which gives the same ids — takes ~16 s per MB on SentencePiece input: SentencePiece
 * does not pre-split text, so a whole segment is one "word" of up to a million symbols, and the
 * library allocates an object and a JSON key for every pair it looks at.
 *
 * Semantics are sentencepiece's bpe_model.cc: symbols start as single code points; repeatedly the
 * adjacent pair whose concatenation is a mergeable piece with the lowest rank is merged (ties: the
 * leftmost pair); a pair is looked up by its concatenated string, so any two symbols that spell a
 * piece merge. Symbol slots live in typed arrays (a doubly linked list) and candidate pairs in a
 * binary heap with lazy invalidation through per-slot versions: O(n log n), no per-pair objects.
 */
export class PieceMerger {
  // Heap of candidate merges, struct-of-arrays; `heap` holds entry indices.
  private rank = new Int32Array(1024);
  private left = new Int32Array(1024);
  private right = new Int32Array(1024);
  private vLeft = new Int32Array(1024);
  private vRight = new Int32Array(1024);
  private heap = new Int32Array(1024);
  private size = 0;
  private entries = 0;

  /** `rankOf(piece)`: merge rank of a piece the loop may form, or undefined. */
  constructor(private readonly rankOf: Map<string, number>) {}

  /** Returns the final symbols of `word`. */
  merge(word: string): string[] {
    const sym = Array.from(word);
    const n = sym.length;
    if (n < 2) return sym;
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const ver = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    this.size = 0;
    this.entries = 0;
    for (let i = 0; i + 1 < n; i++) this.consider(sym, i, i + 1, ver);

    while (this.size > 0) {
      const e = this.pop();
      const l = this.left[e];
      const r = this.right[e];
      if (ver[l] !== this.vLeft[e] || ver[r] !== this.vRight[e]) continue; // stale
      // Merge r into l.
      sym[l] = sym[l] + sym[r];
      sym[r] = '';
      ver[l]++;
      ver[r]++;
      const rn = next[r];
      next[l] = rn;
      if (rn !== -1) prev[rn] = l;
      const lp = prev[l];
      if (lp !== -1) this.consider(sym, lp, l, ver);
      if (rn !== -1) this.consider(sym, l, rn, ver);
    }
    const out: string[] = [];
    for (let i = 0; i !== -1; i = next[i]) out.push(sym[i]);
    return out;
  }

  private consider(sym: string[], l: number, r: number, ver: Int32Array): void {
    const rank = this.rankOf.get(sym[l] + sym[r]);
    if (rank === undefined) return;
    if (this.entries === this.rank.length) this.grow();
    const e = this.entries++;
    this.rank[e] = rank;
    this.left[e] = l;
    this.right[e] = r;
    this.vLeft[e] = ver[l];
    this.vRight[e] = ver[r];
    this.push(e);
  }

  private grow(): void {
    const cap = this.rank.length * 2;
    const g = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.rank = g(this.rank);
    this.left = g(this.left);
    this.right = g(this.right);
    this.vLeft = g(this.vLeft);
    this.vRight = g(this.vRight);
    this.heap = g(this.heap);
  }

  /** Entry a comes before entry b: lower rank, then leftmost. */
  private before(a: number, b: number): boolean {
    const ra = this.rank[a];
    const rb = this.rank[b];
    return ra < rb || (ra === rb && this.left[a] < this.left[b]);
  }

  private push(e: number): void {
    const h = this.heap;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(e, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = e;
  }

  private pop(): number {
    const h = this.heap;
    const top = h[0];
    const last = h[--this.size];
    let i = 0;
    const n = this.size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.before(h[r], h[l]) ? r : l;
      if (!this.before(h[c], last)) break;
      h[i] = h[c];
      i = c;
    }
    if (n > 0) h[i] = last;
    return top;
  }
}
