import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSentencePieceModel, PieceType } from '../../src/tokenizer/sentencepiece-model.ts';
import { SentencePieceBpe, type MergePriority } from '../../src/tokenizer/sentencepiece-bpe.ts';
import { assetDir } from './helpers.ts';

/** The textbook merge loop, O(n²): the reference the fast merger (heap, cuts, cache) must equal. */
function naiveEncoder(model: ReturnType<typeof parseSentencePieceModel>, priority: MergePriority): (text: string) => number[] {
  const rankOf = new Map<string, { id: number; rank: number }>();
  model.pieces.forEach((p, id) => {
    if ((p.type === PieceType.NORMAL || p.type === PieceType.USER_DEFINED) && !rankOf.has(p.piece)) {
      // Higher score first; equal scores tie, and ties go to the leftmost pair.
      rankOf.set(p.piece, { id, rank: priority === 'id' ? id : -p.score });
    }
  });
  const byteIds = new Map(model.pieces.map((p, id) => [p.piece, id]));
  const byteId = (b: number) => byteIds.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)!;
  return (text) => {
    const sym = Array.from(text);
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < sym.length; i++) {
        const r = rankOf.get(sym[i] + sym[i + 1])?.rank;
        if (r !== undefined && r < bestRank) (best = i), (bestRank = r);
      }
      if (best < 0) break;
      sym.splice(best, 2, sym[best] + sym[best + 1]);
    }
    return sym.flatMap((s) => rankOf.get(s)?.id ?? [...new TextEncoder().encode(s)].map(byteId));
  };
}

for (const [k, priority] of [['2b', 'score'], ['4b', 'id'], ['4b', 'score']] as const) {
  test(`${k} (${priority} order): the fast merger equals a naive merge loop on random text`, () => {
    const file = join(assetDir(k), 'tokenizer.model');
    const model = parseSentencePieceModel(readFileSync(file), file);
    const sp = new SentencePieceBpe(model, priority, file);
    const naive = naiveEncoder(model, priority);
    // Random strings glued from vocabulary pieces, whitespace runs and rare characters.
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const extras = ['▁', '▁▁', '▁▁▁', '\n', '好', '的', '🚗', 'é', '\u0000', '-', '--'];
    const normal = model.pieces.filter((p) => p.type === PieceType.NORMAL).map((p) => p.piece);
    for (let t = 0; t < 40; t++) {
      let text = '';
      const parts = 5 + rand(40);
      for (let i = 0; i < parts; i++) text += rand(4) === 0 ? extras[rand(extras.length)] : normal[rand(normal.length)];
      if (k === '2b') text = text.replace(/[Ａ-Ｚａ-ｚ]|\[UNUSED_TOKEN_\d+\]/g, ''); // keep user-defined pieces out of the naive loop
      const expected = naive(text);
      assert.deepEqual(sp.encodeNormalized(text), expected, JSON.stringify(text));
      assert.deepEqual(sp.encodeNormalized(text), expected, 'second call (cached parts)');
    }
  });
}
