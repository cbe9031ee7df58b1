/**
 * Building the model prompt like the reference `chat()` (prompting.md §3 and §5): `<image>` placement,
 * rendering of system message + history + question, and expansion of each `<image>` into image tokens.
 */
import { fail } from '../errors.ts';
import { getTemplate, pyStrip, renderMessages, stopSeparator, type ConversationTemplate, type Message } from './templates.ts';

export const IMAGE_PLACEHOLDER = '<image>';
export const IMG_START_TOKEN = '<img>';
export const IMG_END_TOKEN = '</img>';
export const IMG_CONTEXT_TOKEN = '<IMG_CONTEXT>';
/** Image tokens per 448x448 tile for every Mini-InternVL checkpoint: (448/14)^2 patches * 0.5^2 pixel shuffle. */
export const NUM_IMAGE_TOKEN = 256;

/**
 * `Image-1: <image>\nImage-2: <image>\n...` — the model-card prefix for several separate images;
 * `firstIndex` numbers images added to a conversation that already has some.
 */
export function multiImagePrefix(numImages: number, firstIndex = 1): string {
  let s = '';
  for (let k = firstIndex; k < firstIndex + numImages; k++) s += `Image-${k}: ${IMAGE_PLACEHOLDER}\n`;
  return s;
}

/**
 * `Frame1: <image>\nFrame2: <image>\n...` — the InternVL2 model-card video prefix (no hyphen);
 * `hyphen: true` gives the newer README form `Frame-1: ...`.
 */
export function videoFramePrefix(numFrames: number, opts: { hyphen?: boolean } = {}): string {
  let s = '';
  for (let k = 1; k <= numFrames; k++) s += `Frame${opts.hyphen ? '-' : ''}${k}: ${IMAGE_PLACEHOLDER}\n`;
  return s;
}

/** `<img>` + `<IMG_CONTEXT>` x (numImageToken * tiles) + `</img>`. */
export function imageTokens(tiles: number, numImageToken = NUM_IMAGE_TOKEN): string {
  return IMG_START_TOKEN + IMG_CONTEXT_TOKEN.repeat(numImageToken * tiles) + IMG_END_TOKEN;
}

/** Number of `<image>` placeholders in a text. */
export function countImagePlaceholders(text: string): number {
  return text.split(IMAGE_PLACEHOLDER).length - 1;
}

/**
 * Replaces the first remaining `<image>` once per entry of `numPatchesList`, in order (reference step 6).
 * Placeholders beyond the list stay literal text, as in the reference. A list longer than the number of
 * placeholders is an error here (the reference would fail later on a token-count mismatch).
 */
export function expandImagePlaceholders(prompt: string, numPatchesList: readonly number[], numImageToken = NUM_IMAGE_TOKEN): string {
  let out = prompt;
  let from = 0;
  numPatchesList.forEach((n, k) => {
    if (!Number.isInteger(n) || n < 1) fail(`image ${k + 1}: number of tiles must be a positive integer, got ${n}`);
    const at = out.indexOf(IMAGE_PLACEHOLDER, from);
    if (at < 0) fail(`the prompt has ${countImagePlaceholders(prompt)} <image> placeholder(s) but ${numPatchesList.length} images were given`);
    const tokens = imageTokens(n, numImageToken);
    out = out.slice(0, at) + tokens + out.slice(at + IMAGE_PLACEHOLDER.length);
    // Python's str.replace(..., 1) rescans from the start; the inserted tokens contain no '<image>', so
    // continuing after them finds the same occurrence.
    from = at + tokens.length;
  });
  return out;
}

/** Input of `renderPrompt`. */
export interface RenderPromptOptions {
  /** Template name from the checkpoint config (`Hermes-2`, `internlm2-chat`, `phi3-chat`, `internvl2_5`) or a template. */
  template: string | ConversationTemplate;
  /** System message; defaults to the template's (use the checkpoint's for the V1.5 models, see SYSTEM_MESSAGES). */
  systemMessage?: string;
  /** Previous turns as [question, answer]; questions keep their `<image>` placeholders. */
  history?: ReadonlyArray<readonly [string, string]>;
  /** The new user message. */
  question: string;
  /**
   * Tiles per image, in prompt order (`num_patches_list`); omit or [] for a text-only prompt. Pass one entry
   * with the total to put every tile under a single `<image>` (the reference's default).
   */
  numPatchesList?: readonly number[];
  /** `<IMG_CONTEXT>` tokens per tile (256 for all released checkpoints). */
  numImageToken?: number;
}

/** Output of `renderPrompt`. */
export interface RenderedPrompt {
  /** The full prompt with images expanded: tokenize this (BOS per tokenizer rules, no EOS). */
  prompt: string;
  /** The same prompt before `<image>` expansion. */
  promptWithPlaceholders: string;
  /** The question as it goes into history (with any auto-inserted `<image>` prefix). */
  question: string;
  /** Stop string: generation ends on its token id; the answer is cut at its first occurrence. */
  stopSep: string;
}

/**
 * Mirrors `chat()` (prompting.md §5):
 * 1. On the first turn (no or empty history) with images and no `<image>` in the question, the question gets
 *    `<image>\n` prepended for one image, or `Image-1: <image>\nImage-2: <image>\n...` for several (the
 *    model-card convention; the reference's bare chat() would leave later images unexpanded).
 * 2. Render system block + history + question + open assistant turn with the template.
 * 3. Expand each `<image>` (first remaining occurrence first) with `numPatchesList`.
 * Deviation: the reference skips step 1 when `history=[]` is passed explicitly (Python None vs []); here an
 * empty history counts as the first turn.
 */
export function renderPrompt(opts: RenderPromptOptions): RenderedPrompt {
  const t = typeof opts.template === 'string' ? getTemplate(opts.template) : opts.template;
  const numPatchesList = opts.numPatchesList ?? [];
  const history = opts.history ?? [];
  let question = opts.question;
  if (history.length === 0 && numPatchesList.length > 0 && !question.includes(IMAGE_PLACEHOLDER)) {
    question = (numPatchesList.length === 1 ? `${IMAGE_PLACEHOLDER}\n` : multiImagePrefix(numPatchesList.length)) + question;
  }
  const messages: Message[] = [];
  for (const [q, a] of history) messages.push([t.roles[0], q], [t.roles[1], a]);
  messages.push([t.roles[0], question], [t.roles[1], null]);
  const promptWithPlaceholders = renderMessages(t, messages, opts.systemMessage ?? t.systemMessage);
  const prompt = expandImagePlaceholders(promptWithPlaceholders, numPatchesList, opts.numImageToken ?? NUM_IMAGE_TOKEN);
  return { prompt, promptWithPlaceholders, question, stopSep: stopSeparator(t) };
}

/**
 * The reference's final answer (prompting.md §5 step 10): the decoded new tokens (special tokens
 * skipped or not), cut before the first occurrence of `sep` (as Python's `split(sep)[0]`), stripped.
 */
export function answerFromDecoded(decoded: string, sep: string): string {
  const i = sep === '' ? -1 : decoded.indexOf(sep);
  return pyStrip(i < 0 ? decoded : decoded.slice(0, i));
}

/** `answerFromDecoded` with the stop separator of a template. */
export function extractResponse(decoded: string, template: string | ConversationTemplate): string {
  const t = typeof template === 'string' ? getTemplate(template) : template;
  return answerFromDecoded(decoded, stopSeparator(t));
}
