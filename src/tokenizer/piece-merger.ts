/**
 * The BPE merge loop for SentencePiece vocabularies, written here because @huggingface/tokenizers'
 * `BPE.bpe()` — which gives the same ids — takes ~16 s per MB on SentencePiece input: SentencePiece
 * does not pre-split text, so a whole segment is one "word" of up to a million symbols, and the
 * library allocates an object and a JSON key for every pair it looks at.
 *
 * Semantics are sentencepiece's bpe_model.cc: symbols start as single code points; repeatedly the
 * adjacent pair whose concatenation is a mergeable piece with the lowest rank is merged (ties: the
 * leftmost pair); any two symbols that spell a piece merge. Symbols are integer ids (piece ids, or
 * extra ids for single characters that are not pieces), pairs are found in an open-addressing hash
 * table, symbol slots form a linked list in typed arrays and candidate pairs sit in a binary heap
 * with lazy invalidation through per-slot versions: O(n log n) and no per-pair allocation.
 *
 * Long inputs are cut where no merge can ever cross: between two characters that are adjacent in
 * no mergeable piece (every symbol is a piece, so a symbol spanning the cut would contain that
 * character pair). Merging the parts separately is exact, keeps the heap small, and lets short
 * parts (mostly words) be cached.
 */
export class PieceMerger {
  /** Symbol id of each BMP code unit / astral character that occurs in some piece (-1: none). */
  private readonly bmpIds = new Int32Array(0x10000).fill(-1);
  private readonly astralIds = new Map<string, number>();
  /** Text of the extra (non-piece) single-character symbols, by `id - extraBase`. */
  private readonly extraChars: string[] = [];
  private readonly extraBase: number;
  /** (left symbol, right symbol) -> merged piece id. */
  private readonly pairs: PairTable;
  /** Character pairs (as symbol ids) adjacent inside some mergeable piece. */
  private readonly bigrams: PairTable;
  private readonly cache = new Map<string, number[]>();
  // Per-call symbol buffers, reused across calls.
  private sym = new Int32Array(1024);
  private start = new Int32Array(1025);
  private next = new Int32Array(1024);
  private prev = new Int32Array(1024);
  private ver = new Int32Array(1024);
  // Heap of candidate merges, struct-of-arrays; `heap` holds entry indices.
  private rank = new Int32Array(1024);
  private mergedId = new Int32Array(1024);
  private left = new Int32Array(1024);
  private right = new Int32Array(1024);
  private vLeft = new Int32Array(1024);
  private vRight = new Int32Array(1024);
  private heap = new Int32Array(1024);
  private size = 0;
  private entries = 0;

  /**
   * @param pieces piece strings by id
   * @param mergeable whether a piece id may be formed/emitted by merging
   * @param pieceRank merge rank by piece id (lower merges first)
   */
  constructor(
    pieces: readonly string[],
    mergeable: (id: number) => boolean,
    private readonly pieceRank: Int32Array,
    private readonly fallback: (text: string, out: number[]) => void,
  ) {
    this.extraBase = pieces.length;
    const idOfSymbol = new Map<string, number>();
    for (let id = 0; id < pieces.length; id++) if (mergeable(id) && !idOfSymbol.has(pieces[id])) idOfSymbol.set(pieces[id], id);
    const symbolId = (s: string): number | undefined => {
      const id = idOfSymbol.get(s);
      if (id !== undefined) return id;
      if (s.length === 1 || (s.length === 2 && s.codePointAt(0)! > 0xffff)) {
        const extra = this.extraBase + this.extraChars.length;
        this.extraChars.push(s);
        idOfSymbol.set(s, extra);
        return extra;
      }
      return undefined;
    };
    // Every split of a mergeable piece into two symbols is a merge forming it.
    const pairs: number[] = [];
    const bigrams: string[] = [];
    for (const [piece, id] of [...idOfSymbol]) {
      if (id >= this.extraBase) continue;
      const chars = Array.from(piece);
      for (const c of chars) symbolId(c);
      if (chars.length < 2) continue;
      for (let k = 1; k < chars.length; k++) bigrams.push(chars[k - 1], chars[k]);
      let leftText = '';
      for (let k = 1; k < chars.length; k++) {
        leftText += chars[k - 1];
        const l = symbolId(leftText);
        const r = symbolId(piece.slice(leftText.length));
        if (l !== undefined && r !== undefined) pairs.push(l, r, id);
      }
    }
    for (const [s, id] of idOfSymbol) {
      if (s.length === 1) this.bmpIds[s.charCodeAt(0)] = id;
      else if (s.length === 2 && s.codePointAt(0)! > 0xffff) this.astralIds.set(s, id);
    }
    this.pairs = new PairTable(pairs.length / 3);
    for (let i = 0; i < pairs.length; i += 3) this.pairs.set(pairs[i], pairs[i + 1], pairs[i + 2]);
    this.bigrams = new PairTable(bigrams.length / 2);
    for (let i = 0; i < bigrams.length; i += 2) this.bigrams.set(idOfSymbol.get(bigrams[i])!, idOfSymbol.get(bigrams[i + 1])!, 1);
  }

  /** Appends the ids of `word` to `out` (non-piece symbols go through `fallback`). */
  encode(word: string, out: number[]): void {
    if (this.sym.length < word.length) this.growSymbols(word.length);
    const { sym, start } = this;
    // Initial symbols: one per code point; characters in no piece get -1 (they never merge).
    let n = 0;
    for (let i = 0; i < word.length; i++) {
      const c = word.charCodeAt(i);
      start[n] = i;
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < word.length) {
        const d = word.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          sym[n++] = this.astralIds.get(word.slice(i, i + 2)) ?? -1;
          i++;
          continue;
        }
      }
      sym[n++] = this.bmpIds[c];
    }
    start[n] = word.length;
    let s = 0;
    for (let i = 1; i <= n; i++) {
      if (i < n && sym[i - 1] >= 0 && sym[i] >= 0 && this.bigrams.get(sym[i - 1], sym[i]) >= 0) continue;
      this.encodePart(word, s, i, out);
      s = i;
    }
  }

  /** Encodes initial symbols [s, e), a part no merge crosses. */
  private encodePart(word: string, s: number, e: number, out: number[]): void {
    if (e - s === 1) {
      this.emit(word, s, out);
      return;
    }
    const cacheable = e - s <= 32;
    const key = cacheable ? word.slice(this.start[s], this.start[e]) : '';
    if (cacheable) {
      const hit = this.cache.get(key);
      if (hit) {
        for (const id of hit) out.push(id);
        return;
      }
    }
    const first = out.length;
    this.mergeRange(s, e);
    for (let i = s; i !== -1; i = this.next[i]) this.emit(word, i, out);
    if (cacheable) {
      if (this.cache.size >= 50_000) this.cache.clear();
      this.cache.set(key, out.slice(first));
    }
  }

  private emit(word: string, i: number, out: number[]): void {
    const id = this.sym[i];
    if (id >= 0 && id < this.extraBase) out.push(id);
    else if (id >= this.extraBase) this.fallback(this.extraChars[id - this.extraBase], out);
    else this.fallback(word.slice(this.start[i], this.start[i + 1]), out);
  }

  /** The merge loop over initial symbols [s, e); afterwards `next` links the final symbols from s. */
  private mergeRange(s: number, e: number): void {
    const { sym, next, prev, ver } = this;
    for (let i = s; i < e; i++) {
      next[i] = i + 1 < e ? i + 1 : -1;
      prev[i] = i - 1 >= s ? i - 1 : -1;
      ver[i] = 0;
    }
    this.size = 0;
    this.entries = 0;
    for (let i = s; i + 1 < e; i++) this.consider(i, i + 1);
    while (this.size > 0) {
      const ent = this.pop();
      const l = this.left[ent];
      const r = this.right[ent];
      if (ver[l] !== this.vLeft[ent] || ver[r] !== this.vRight[ent]) continue; // stale candidate
      sym[l] = this.mergedId[ent];
      ver[l]++;
      ver[r]++;
      const rn = next[r];
      next[l] = rn;
      if (rn !== -1) prev[rn] = l;
      const lp = prev[l];
      if (lp !== -1) this.consider(lp, l);
      if (rn !== -1) this.consider(l, rn);
    }
  }

  private growSymbols(n: number): void {
    this.sym = new Int32Array(n);
    this.start = new Int32Array(n + 1);
    this.next = new Int32Array(n);
    this.prev = new Int32Array(n);
    this.ver = new Int32Array(n);
  }

  private consider(l: number, r: number): void {
    const { sym, ver } = this;
    const a = sym[l];
    const b = sym[r];
    if (a < 0 || b < 0) return;
    const m = this.pairs.get(a, b);
    if (m < 0) return;
    if (this.entries === this.rank.length) this.grow();
    const e = this.entries++;
    this.rank[e] = this.pieceRank[m];
    this.mergedId[e] = m;
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
    this.mergedId = g(this.mergedId);
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
    const n = this.size;
    let i = 0;
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

/** Open-addressing hash map from a pair of non-negative ints to a non-negative int. */
class PairTable {
  private readonly keyL: Int32Array;
  private readonly keyR: Int32Array;
  private readonly value: Int32Array;
  private readonly mask: number;

  constructor(count: number) {
    let cap = 1024;
    while (cap < count * 3) cap *= 2; // load factor <= 1/3
    this.mask = cap - 1;
    this.keyL = new Int32Array(cap).fill(-1);
    this.keyR = new Int32Array(cap);
    this.value = new Int32Array(cap);
  }

  private slot(l: number, r: number): number {
    let h = (Math.imul(l, 0x9e3779b1) ^ Math.imul(r + 0x7f4a7c15, 0x85ebca77)) & this.mask;
    while (this.keyL[h] !== -1 && !(this.keyL[h] === l && this.keyR[h] === r)) h = (h + 1) & this.mask;
    return h;
  }

  set(l: number, r: number, v: number): void {
    const h = this.slot(l, r);
    this.keyL[h] = l;
    this.keyR[h] = r;
    this.value[h] = v;
  }

  /** The value, or -1. */
  get(l: number, r: number): number {
    const h = this.slot(l, r);
    return this.keyL[h] === -1 ? -1 : this.value[h];
  }
}
