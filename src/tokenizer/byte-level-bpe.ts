import { fail } from '../errors.ts';
import { MergeEngine, mergeKey } from './bpe-engine.ts';
import { parseJsonText } from './settings.ts';
import { WS } from './text.ts';

/**
 * Pre-tokenizer patterns by tokenizer class (class behaviour, not per checkpoint).
 * Python `regex`/Oniguruma syntax rewritten for JS: the inline `(?i:...)` contraction group is
 * expanded to explicit cases and `\s`/`\S` are Unicode White_Space (see text.ts).
 */
const S = `[${WS}]`;
const NS = `[^${WS}]`;
const QWEN2_PATTERN =
  `'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*|${S}*[\\r\\n]+|${S}+(?!${NS})|${S}+`;
const GPT2_PATTERN = `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+|${S}+(?!${NS})|${S}+`;

interface ClassBehaviour {
  pattern: string;
  nfc: boolean;
}
const BEHAVIOUR: Record<string, ClassBehaviour> = {
  qwen2: { pattern: QWEN2_PATTERN, nfc: true },
  gpt2: { pattern: GPT2_PATTERN, nfc: false },
};
/** Qwen2 is the default: it is the only byte-level family among the supported checkpoints. */
function behaviourFor(tokenizerClass: string | undefined): ClassBehaviour {
  const c = (tokenizerClass ?? '').toLowerCase();
  if (c.startsWith('gpt2') || c.startsWith('roberta') || c.startsWith('codegen')) return BEHAVIOUR.gpt2;
  return BEHAVIOUR.qwen2;
}

/** GPT-2's `bytes_to_unicode`: printable bytes map to themselves, the other 68 to U+0100, U+0101, … */
function byteTables(): { byteToChar: string[]; charToByte: Map<string, number> } {
  const byteToChar: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    byteToChar[b] = String.fromCharCode(printable ? b : 256 + n++);
  }
  return { byteToChar, charToByte: new Map(byteToChar.map((c, b) => [c, b])) };
}
const { byteToChar: BYTE_TO_CHAR, charToByte: CHAR_TO_BYTE } = byteTables();

const utf8 = new TextEncoder();

/**
 * Byte-level BPE from `vocab.json` + `merges.txt` (Qwen2, GPT-2): NFC (Qwen2), regex
 * pre-tokenization, bytes → GPT-2 characters, merges by rank (the merge loop is
 * @huggingface/tokenizers' BPE, which also caches words).
 */
export class ByteLevelBpe {
  private readonly vocab = new Map<string, number>();
  private readonly tokens: string[] = [];
  private readonly engine: MergeEngine;
  private readonly pretokenizer: RegExp;
  private readonly nfc: boolean;

  /** `vocab` / `merges`: the files' text and their paths (for messages). */
  constructor(vocab: { path: string; text: string }, merges: { path: string; text: string }, tokenizerClass: string | undefined) {
    const vocabFile = vocab.path;
    const mergesFile = merges.path;
    const raw = parseJsonText(vocab.text, vocabFile);
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(`${vocabFile}: expected a JSON object of token -> id`);
    for (const [tok, id] of Object.entries(raw as Record<string, unknown>)) {
      if (!Number.isInteger(id) || (id as number) < 0) fail(`${vocabFile}: token ${JSON.stringify(tok)} has a bad id`);
      this.vocab.set(tok, id as number);
      this.tokens[id as number] = tok;
    }
    if (this.vocab.size === 0) fail(`${vocabFile}: empty vocabulary`);

    const text = merges.text;
    const ranks = new Map<string, number>();
    const lines = text.split(/\r?\n/);
    // A `#version` header is a comment only when present (Qwen2's file starts with the merge `Ġ Ġ`).
    const first = lines.length > 0 && lines[0].startsWith('#version') ? 1 : 0;
    for (let i = first; i < lines.length; i++) {
      const line = lines[i];
      if (line === '') continue;
      const parts = line.split(' ');
      if (parts.length !== 2 || parts[0] === '' || parts[1] === '') fail(`${mergesFile}:${i + 1}: malformed merge line`);
      const key = mergeKey(parts[0], parts[1]);
      if (!ranks.has(key)) ranks.set(key, ranks.size);
    }
    this.engine = new MergeEngine(this.vocab, ranks, { byteFallback: false });
    const b = behaviourFor(tokenizerClass);
    this.pretokenizer = new RegExp(b.pattern, 'gu');
    this.nfc = b.nfc;
  }

  get size(): number {
    return this.tokens.length;
  }

  pieceToId(piece: string): number | undefined {
    return this.vocab.get(piece);
  }

  idToPiece(id: number): string | undefined {
    return this.tokens[id];
  }

  encode(text: string): number[] {
    if (this.nfc) text = text.normalize('NFC');
    const ids: number[] = [];
    for (const m of text.matchAll(this.pretokenizer)) {
      let mapped = '';
      for (const byte of utf8.encode(m[0])) mapped += BYTE_TO_CHAR[byte];
      for (const piece of this.engine.encodeWord(mapped)) {
        const id = this.vocab.get(piece);
        if (id === undefined) fail(`byte-level BPE: piece ${JSON.stringify(piece)} is missing from the vocabulary`);
        ids.push(id);
      }
    }
    return ids;
  }
}

/**
 * The byte-level decoder (Rust `ByteLevel` semantics): each token's characters map back to bytes (a
 * token with a character outside the table, e.g. a non-ASCII added token, contributes its own UTF-8),
 * then the bytes of all tokens are decoded together.
 */
export function byteLevelBytes(tokens: string[]): Uint8Array {
  const out: number[] = [];
  for (const t of tokens) {
    const start = out.length;
    let mapped = true;
    for (const ch of t) {
      const b = CHAR_TO_BYTE.get(ch);
      if (b === undefined) {
        mapped = false;
        break;
      }
      out.push(b);
    }
    if (!mapped) {
      out.length = start;
      for (const b of utf8.encode(t)) out.push(b);
    }
  }
  return Uint8Array.from(out);
}
