/**
 * The text side of the reference chat() (prompting.md §5): prompt rendering + tokenization with the
 * `<IMG_CONTEXT>` count check (steps 1–7), and the answer post-processing (step 10), plus the raw answer
 * with grounding tags kept (the web demo's variant).
 */
import { fail } from '../errors.ts';
import { renderPrompt, answerFromDecoded, IMG_CONTEXT_TOKEN, IMAGE_PLACEHOLDER, multiImagePrefix } from '../prompt/index.ts';
import type { ConversationTemplate } from '../prompt/index.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { findStopString, templateEosId } from './stop.ts';

/** A previous turn: the question as it went into the prompt (with its `<image>` placeholders) and the answer. */
export type Turn = readonly [question: string, answer: string];

export interface ChatPromptInput {
  template: string | ConversationTemplate;
  systemMessage?: string;
  history?: readonly Turn[] | null;
  question: string;
  /** Tiles per image in prompt order ([] for text only). */
  numPatchesList: readonly number[];
  /** `<IMG_CONTEXT>` tokens per tile (config num_image_token, 256). */
  numImageToken: number;
}

export interface ChatPrompt {
  /** Rendered prompt, images expanded. */
  prompt: string;
  /** The exact ids fed to the model (BOS per tokenizer, no EOS). */
  ids: number[];
  /** The question as it goes into history (auto-inserted `<image>\n` included). */
  question: string;
  /** Stripped template separator and its id (the reference's eos). */
  sepText: string;
  sepTokenId: number;
  imgContextId: number;
}

/** Steps 1–7 of chat(): render, expand `<image>`, tokenize in one call, check the image token count. */
export function buildChatPrompt(tokenizer: Tokenizer, input: ChatPromptInput): ChatPrompt {
  const r = renderPrompt({
    template: input.template,
    systemMessage: input.systemMessage,
    history: input.history ?? [],
    question: input.question,
    numPatchesList: input.numPatchesList,
    numImageToken: input.numImageToken,
  });
  const imgContextId = tokenizer.tokenToId(IMG_CONTEXT_TOKEN) ?? fail(`the tokenizer has no ${IMG_CONTEXT_TOKEN} token; is this an InternVL checkpoint?`);
  const sepTokenId = templateEosId(r.stopSep, (t) => tokenizer.tokenToId(t));
  const ids = tokenizer.encode(r.prompt);
  const tiles = input.numPatchesList.reduce((a, n) => a + n, 0);
  let count = 0;
  for (const id of ids) if (id === imgContextId) count++;
  if (count !== tiles * input.numImageToken) {
    // The reference asserts the same (architecture §6): every tile's embeddings need their positions.
    fail(
      `the prompt has ${count} ${IMG_CONTEXT_TOKEN} tokens but ${tiles} tile(s) need ${tiles * input.numImageToken}; ` +
        `each image needs its own ${IMAGE_PLACEHOLDER} placeholder in the question or history`,
    );
  }
  return { prompt: r.prompt, ids, question: r.question, sepText: r.stopSep, sepTokenId, imgContextId };
}

/**
 * The question with placeholders for images added in this turn of a multi-turn session: the reference's
 * `<image>\n` when it is the conversation's only image, else the model cards' `Image-k: <image>\n` with
 * k counting all images of the conversation. Questions that already contain `<image>` are left alone.
 */
export function withImagePlaceholders(question: string, imagesBefore: number, newImages: number): string {
  if (newImages === 0 || question.includes(IMAGE_PLACEHOLDER)) return question;
  if (imagesBefore + newImages === 1) return `${IMAGE_PLACEHOLDER}\n${question}`;
  return multiImagePrefix(newImages, imagesBefore + 1) + question;
}

/** Grounding tags that the web demo keeps in the raw answer. */
const GROUNDING_TOKENS = ['<ref>', '</ref>', '<box>', '</box>', '<quad>', '</quad>'];

export interface AnswerTexts {
  /** Reference chat() answer: special tokens skipped, cut at the separator (and stop strings), stripped. */
  text: string;
  /** The same with grounding tags kept (`<ref>…</ref><box>[[…]]</box>`). */
  rawText: string;
}

/** Step 10 of chat(), from the generated ids (stop token included). */
export function answerTexts(tokenizer: Tokenizer, tokenIds: readonly number[], sepText: string, stopStrings: readonly string[] = []): AnswerTexts {
  const cut = (s: string) => {
    const hit = findStopString(s, stopStrings);
    return answerFromDecoded(hit ? s.slice(0, hit.index) : s, sepText);
  };
  const text = cut(tokenizer.decode([...tokenIds], { skipSpecialTokens: true }));
  const keep = new Set(GROUNDING_TOKENS.map((t) => tokenizer.tokenToId(t)).filter((x): x is number => x !== undefined));
  const rawIds = tokenIds.filter((id) => !tokenizer.specialIds.has(id) || keep.has(id));
  const rawText = cut(tokenizer.decode(rawIds, { skipSpecialTokens: false }));
  return { text, rawText };
}
