/**
 * A generated tokenizer for random-weight demo checkpoints, in the released Qwen2 file layout
 * (`vocab.json` + `merges.txt` + `tokenizer_config.json` + `added_tokens.json`, as InternVL2-1B ships),
 * so a checkpoint can be written and chatted with using nothing outside the package and is read by the
 * same loader as a real one.
 *
 * The vocabulary: the 256 byte-level characters (any text encodes), then made-up syllables and two-
 * syllable words, each built by one merge from two earlier tokens (so merges.txt is a valid BPE), until
 * the base vocabulary fills `vocabSize` minus the added tokens; the added tokens (the chat templates'
 * role and separator tokens and InternVL's image/grounding tokens) take the last ids, as in Qwen2. Every
 * id a random model can emit therefore decodes to text that looks like words.
 */

/** Special tokens of the three chat templates (Hermes-2/internlm2-chat, phi3-chat) and of InternVL. */
const ADDED_TOKENS = [
  '<|endoftext|>', '<|im_start|>', '<|im_end|>',
  '<|system|>', '<|user|>', '<|assistant|>', '<|end|>',
  '<img>', '</img>', '<IMG_CONTEXT>', '<quad>', '</quad>', '<ref>', '</ref>', '<box>', '</box>',
] as const;

const CONSONANTS = 'bdfghklmnprstvz';
const VOWELS = 'aeiou';
/** GPT-2's byte-level character for a space. */
const SPACE = '\u0120';

/** GPT-2's `bytes_to_unicode` characters, in byte order. */
function byteChars(): string[] {
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out.push(String.fromCharCode(printable ? b : 256 + n++));
  }
  return out;
}

/** Syllables: consonant+vowel, then consonant+vowel+consonant. */
function syllables(): string[] {
  const out: string[] = [];
  for (const c of CONSONANTS) for (const v of VOWELS) out.push(c + v);
  for (const c of CONSONANTS) for (const v of VOWELS) for (const c2 of CONSONANTS) out.push(c + v + c2);
  return out;
}

export interface DemoTokenizerFiles {
  /** File name → contents, written into the checkpoint folder. */
  files: Record<string, string>;
  /** Size of the base vocabulary (ids of the added tokens start here). */
  baseSize: number;
}

/** The tokenizer files for a model with `vocabSize` embedding rows. */
export function demoTokenizerFiles(vocabSize: number): DemoTokenizerFiles {
  const baseSize = vocabSize - ADDED_TOKENS.length;
  if (!Number.isInteger(baseSize) || baseSize < 256) throw new RangeError(`demo tokenizer: vocab size ${vocabSize} is too small`);
  const vocab = new Map<string, number>();
  const merges: string[] = [];
  const add = (token: string) => {
    if (vocab.size < baseSize && !vocab.has(token)) vocab.set(token, vocab.size);
  };
  const merge = (a: string, b: string) => {
    if (vocab.size >= baseSize || vocab.has(a + b) || !vocab.has(a) || !vocab.has(b)) return;
    merges.push(`${a} ${b}`);
    add(a + b);
  };
  for (const c of byteChars()) add(c);
  for (const c of CONSONANTS) merge(SPACE, c);
  const sy = syllables();
  for (const s of sy) {
    // "ka" from "k"+"a", "Ġka" from "Ġk"+"a"; "kar" from "ka"+"r", "Ġkar" from "Ġka"+"r".
    merge(s.slice(0, -1), s.slice(-1));
    merge(SPACE + s.slice(0, -1), s.slice(-1));
  }
  // Two-syllable words, interleaved so that a small vocabulary still gets a mix of them.
  outer: for (let j = 0; j < sy.length; j++) {
    for (let i = 0; i < sy.length; i++) {
      if (vocab.size >= baseSize) break outer;
      merge(SPACE + sy[i]!, sy[j]!);
      merge(sy[i]!, sy[j]!);
    }
  }
  // Only a tiny vocabulary runs out of words; pad with numbered pieces so every id exists.
  for (let k = 0; vocab.size < baseSize; k++) add(`${SPACE}w${k}`);

  const added: Record<string, number> = {};
  const decoder: Record<string, object> = {};
  ADDED_TOKENS.forEach((t, i) => {
    added[t] = baseSize + i;
    decoder[String(baseSize + i)] = { content: t, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  });
  const config = {
    add_prefix_space: false,
    added_tokens_decoder: decoder,
    additional_special_tokens: ADDED_TOKENS.filter((t) => t !== '<|endoftext|>'),
    bos_token: null,
    clean_up_tokenization_spaces: false,
    eos_token: '<|im_end|>',
    errors: 'replace',
    model_max_length: 8192,
    pad_token: '<|endoftext|>',
    split_special_tokens: false,
    tokenizer_class: 'Qwen2Tokenizer',
    unk_token: null,
  };
  return {
    baseSize,
    files: {
      'vocab.json': JSON.stringify(Object.fromEntries(vocab)),
      'merges.txt': `#version: 0.2\n${merges.join('\n')}\n`,
      'added_tokens.json': `${JSON.stringify(added, null, 2)}\n`,
      'tokenizer_config.json': `${JSON.stringify(config, null, 2)}\n`,
    },
  };
}
