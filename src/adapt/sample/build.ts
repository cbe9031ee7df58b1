/**
 * One training sample from a record's conversation (training.md §4.5–4.8): the template renders the
 * turns, every `<image>` becomes `<img>` + `<IMG_CONTEXT>` × n + `</img>`, the whole string is tokenised
 * once (BOS per tokenizer, no EOS) and cut to `maxLength`, and the labels supervise exactly each
 * assistant message body plus the end-of-turn token after it (−100 elsewhere).
 *
 * The reference computes the mask by re-tokenising pieces and walking a cursor; with the released Phi-3
 * tokenizer files that walk comes out one token short on every multi-round sample and masks the whole
 * sample (golden/README.md, "Reference quirk"). Here the boundaries come from token counts of text
 * prefixes that end exactly at each body's start and end, so every template follows the same rule:
 * the 17 single-rule golden cases come out identical and the three-turn Phi-3 case is supervised
 * instead of fully masked — a deliberate, documented deviation.
 */
import { fail } from '../../errors.ts';
import {
  IMAGE_PLACEHOLDER, IMG_CONTEXT_TOKEN, IMG_END_TOKEN, IMG_START_TOKEN, getTemplate, imageTokens, pyStrip, type ConversationTemplate,
} from '../../prompt/index.ts';
import type { Tokenizer } from '../../tokenizer/index.ts';
import type { Turn } from '../format/record.ts';

/** Label value of tokens that carry no loss (PyTorch's CrossEntropyLoss ignore_index). */
export const IGNORE_TOKEN_ID = -100;

export interface BuildSampleOptions {
  tokenizer: Tokenizer;
  /** Template name (`Hermes-2`, `internlm2-chat`, `phi3-chat`, `internvl2_5`) or a template. */
  template: string | ConversationTemplate;
  /** The record's `conversations` (`from`: human | gpt). A leading gpt turn is dropped, as the reference does. */
  conversations: readonly Turn[];
  /**
   * `<IMG_CONTEXT>` tokens per image, in `<image>` order (256 × tiles of that image). Each entry replaces the
   * first remaining `<image>`; more `<image>`s than entries stay literal text, as in the reference.
   */
  numImageTokens?: readonly number[];
  /** Right truncation to this many tokens (`max_seq_length`); no padding. */
  maxLength?: number;
  /** Pure-text record: no `<image>` expansion at all (reference `text_only=True`). */
  textOnly?: boolean;
  /** Overrides the template's system message (the V1.5 checkpoints use their own). */
  systemMessage?: string;
}

export interface TrainingSample {
  inputIds: number[];
  /** Same length as inputIds; −100 where not supervised. */
  labels: number[];
}

/** A rendered conversation and the character spans of the assistant bodies inside it. */
export interface RenderedConversation {
  text: string;
  /** [start, end) of each assistant message body in `text`. */
  answerSpans: Array<[number, number]>;
  template: ConversationTemplate;
}

/**
 * Renders the turns like `Conversation.get_prompt()` with the images already expanded (expanding before
 * rendering gives the same string: the expansions contain no template text) and records where each
 * assistant body lies.
 */
export function renderConversation(opts: Omit<BuildSampleOptions, 'tokenizer' | 'maxLength'>): RenderedConversation {
  const t = typeof opts.template === 'string' ? getTemplate(opts.template) : opts.template;
  const turns = dropLeadingGpt(opts.conversations);
  turns.forEach((turn, i) => {
    const want = i % 2 === 0 ? 'human' : 'gpt';
    if (turn.from !== want) fail(`turn ${i + 1}: expected a '${want}' turn, got '${turn.from}' (turns must alternate human, gpt, ...)`);
  });
  const strip = t.name === 'internlm2-chat'; // preprocess_internlm strips every value; the others keep it as is
  const expand = opts.textOnly ? null : [...(opts.numImageTokens ?? [])];
  let text = t.systemTemplate.split('{system_message}').join(opts.systemMessage ?? t.systemMessage) + t.sep;
  const answerSpans: Array<[number, number]> = [];
  for (const [i, turn] of turns.entries()) {
    let value = strip ? pyStrip(turn.value) : turn.value;
    if (expand) value = expandImages(value, expand);
    const role = t.roles[i % 2]!;
    text += role;
    if (i % 2 === 1) answerSpans.push([text.length, text.length + value.length]);
    text += value + t.sep;
  }
  if (expand && expand.length > 0) {
    fail(`the conversation has fewer <image> placeholders than the ${opts.numImageTokens!.length} image(s) given`);
  }
  return { text, answerSpans, template: t };
}

function dropLeadingGpt(turns: readonly Turn[]): readonly Turn[] {
  return turns.length > 0 && turns[0]!.from === 'gpt' ? turns.slice(1) : turns;
}

/** Replaces the first remaining `<image>` per queued count; consumes the queue. */
function expandImages(value: string, queue: number[]): string {
  let out = value;
  let from = 0;
  while (queue.length > 0) {
    const at = out.indexOf(IMAGE_PLACEHOLDER, from);
    if (at < 0) break;
    const n = queue.shift()!;
    if (!Number.isInteger(n) || n < 1) fail(`image token count must be a positive integer, got ${n}`);
    const tokens = imageTokens(1, n);
    out = out.slice(0, at) + tokens + out.slice(at + IMAGE_PLACEHOLDER.length);
    from = at + tokens.length;
  }
  return out;
}

/** input_ids and labels of one sample (see the file comment). */
export function buildTrainingSample(opts: BuildSampleOptions): TrainingSample {
  const { tokenizer } = opts;
  if (opts.maxLength !== undefined && (!Number.isInteger(opts.maxLength) || opts.maxLength < 1)) {
    fail(`max length must be a positive integer, got ${opts.maxLength}`);
  }
  const rendered = renderConversation(opts);
  const inputIds = tokenizer.encode(rendered.text);
  const labels = supervisedLabels(tokenizer, rendered, inputIds);
  if (opts.maxLength !== undefined && inputIds.length > opts.maxLength) {
    inputIds.length = opts.maxLength;
    labels.length = opts.maxLength;
  }
  return { inputIds, labels };
}

/**
 * Labels by the intended rule. A body's first token is the token count of the text before it (the
 * prefix encodes to exactly the first tokens of the whole when the boundary falls between tokens —
 * checked; where a token straddles the boundary it intersects the body and is supervised); the token
 * right after a body is supervised when it is the template's end-of-turn token.
 */
function supervisedLabels(tokenizer: Tokenizer, r: RenderedConversation, ids: number[]): number[] {
  const labels = new Array<number>(ids.length).fill(IGNORE_TOKEN_ID);
  const sepId = tokenizer.tokenToId(pyStrip(r.template.sep));
  const counter = new PrefixTokenCounter(tokenizer, r.text, pyStrip(r.template.sep), ids);
  for (const [start, end] of r.answerSpans) {
    const first = counter.firstTokenAt(start, 'start');
    const last = counter.firstTokenAt(end, 'end'); // index just past the body's tokens
    for (let k = first; k < last && k < ids.length; k++) labels[k] = ids[k]!;
    if (last < ids.length && ids[last] === sepId) labels[last] = ids[last]!;
  }
  // preprocess_phi3 never supervises <|endoftext|> (the pad/eos id), even inside an answer.
  if (r.template.name === 'phi3-chat') {
    const eot = tokenizer.tokenToId('<|endoftext|>');
    for (let k = 0; k < labels.length; k++) if (ids[k] === eot) labels[k] = IGNORE_TOKEN_ID;
  }
  return labels;
}

/**
 * Token counts of text prefixes without re-encoding from the start each time: the text is cut just
 * before each separator, `<img>` and `</img>` (added tokens that strip nothing to their left), where
 * the token sequence splits cleanly, so a prefix's count = count up to the last cut + the tokens of the
 * rest; an image block `<img><IMG_CONTEXT>×n` counts 1 + n without encoding. Each cut count is checked
 * against the whole encoding (the cut's token must sit there); if one is off, counts come from
 * encoding whole prefixes instead.
 */
class PrefixTokenCounter {
  private readonly cuts: Array<{ pos: number; id: number | undefined }> = [{ pos: 0, id: undefined }];
  private readonly counts = new Map<number, number>([[0, 0]]);
  private exact = false;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly text: string,
    sep: string,
    private readonly ids: number[],
  ) {
    for (const tok of [sep, IMG_START_TOKEN, IMG_END_TOKEN]) {
      const id = tokenizer.tokenToId(tok);
      for (let at = text.indexOf(tok, 1); at >= 0; at = text.indexOf(tok, at + tok.length)) this.cuts.push({ pos: at, id });
    }
    this.cuts.sort((a, b) => a.pos - b.pos);
  }

  private countAt(c: number): number {
    const { pos, id } = this.cuts[c]!;
    if (this.exact) return this.tokenizer.encode(this.text.slice(0, pos)).length;
    const known = this.counts.get(pos);
    if (known !== undefined) return known;
    const prev = this.cuts[c - 1]!.pos;
    const n = this.countAt(c - 1) + this.pieceLength(prev, pos);
    if (this.ids[n] !== id) {
      this.exact = true; // an unexpected tokenizer: fall back to whole prefixes
      return this.countAt(c);
    }
    this.counts.set(pos, n);
    return n;
  }

  private pieceLength(from: number, to: number): number {
    const piece = this.text.slice(from, to);
    if (piece.startsWith(IMG_START_TOKEN) && piece.length > IMG_START_TOKEN.length) {
      const body = piece.slice(IMG_START_TOKEN.length);
      const n = body.length / IMG_CONTEXT_TOKEN.length;
      if (Number.isInteger(n) && body === IMG_CONTEXT_TOKEN.repeat(n)) return 1 + n;
    }
    return this.encodePiece(from, to).length;
  }

  /** Ids of text[from, to) as they appear inside the whole encoding (BOS only for the piece at 0). */
  private encodePiece(from: number, to: number): number[] {
    const piece = this.text.slice(from, to);
    return from === 0 ? this.tokenizer.encode(piece) : this.tokenizer.encode(piece, { addSpecialTokens: false });
  }

  /**
   * Index of the first token that belongs to text[pos...] (side 'start') or just past the tokens of
   * text[...pos) (side 'end'); a token straddling pos counts as part of the body either way.
   */
  firstTokenAt(pos: number, side: 'start' | 'end'): number {
    let c = 0;
    while (c + 1 < this.cuts.length && this.cuts[c + 1]!.pos <= pos) c++;
    const base = this.countAt(c);
    const from = this.exact ? 0 : this.cuts[c]!.pos;
    const piece = this.encodePiece(from, pos);
    const start = this.exact ? 0 : base;
    let k = 0;
    while (k < piece.length && start + k < this.ids.length && this.ids[start + k] === piece[k]) k++;
    if (k === piece.length) return start + k; // clean boundary
    // The last piece token differs from the whole's: that whole token straddles pos.
    return side === 'start' ? start + k : start + k + 1;
  }
}
