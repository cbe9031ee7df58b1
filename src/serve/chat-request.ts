/**
 * An OpenAI `/v1/chat/completions` body → the exact model input of the reference multi-turn chat():
 * system message, (question, answer) history pairs, the last question, and every image of the
 * conversation in order. Images get their placeholders per turn as a ChatSession gives them
 * (`<image>\n` for a conversation's only image, `Image-k: <image>\n` otherwise; a question that writes
 * `<image>` itself places them), so a request equals `vl.chat({ images, history, question })`.
 * Every bad field is a 400 naming the field; context overflow is a 400 before any model work.
 */
import { MinivlError } from '../errors.ts';
import { preprocessImage } from '../image/index.ts';
import type { MiniVL } from '../minivl.ts';
import { buildChatPrompt, withImagePlaceholders, type Turn } from '../generate/chat-prompt.ts';
import { checkContextLength, DEFAULT_MAX_NEW_TOKENS, type GenerationOptions } from '../generate/generate.ts';
import { ApiError, badRequest } from './errors.ts';
import { imageKey, type VisionCache } from './caches.ts';
import { loadImageUrl, type ImagePolicy } from './image-source.ts';
import type { SequenceImage } from './scheduler.ts';

interface ImagePart {
  url: string;
  maxNum: number;
  param: string;
}

interface UserTurn {
  text: string;
  images: ImagePart[];
  answer: string | null;
}

export interface ChatBody {
  model: string;
  stream: boolean;
  includeUsage: boolean;
  systemMessage: string | null;
  turns: UserTurn[];
  /** maxNewTokens absent = as many as fit (≤ 1024, the library's default). */
  generation: GenerationOptions;
  logprobs: number | null;
}

export interface PreparedRequest {
  promptIds: number[];
  imgContextId: number;
  sepTokenId: number;
  sepText: string;
  images: SequenceImage[];
  generation: GenerationOptions & { maxNewTokens: number };
  /** Tiles and `<IMG_CONTEXT>` tokens of the prompt (usage). */
  imageTiles: number;
  imageTokens: number;
}

type Json = Record<string, unknown>;
const isObj = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

function num(body: Json, key: string, lo: number, hi: number, integer = false): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
    throw badRequest(`'${key}' must be ${integer ? 'an integer' : 'a number'} from ${lo} to ${hi}, got ${JSON.stringify(v)}`, key, 'invalid_value');
  }
  return v;
}

function maxNumOf(v: unknown, param: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 40) throw badRequest(`'${param}' must be an integer from 1 to 40`, param, 'invalid_value');
  return v;
}

/** Validates the body's fields (no I/O). `defaultMaxNum` is the tile budget of detail high/auto. */
export function parseChatBody(raw: unknown, defaultMaxNum: number): ChatBody {
  if (!isObj(raw)) throw badRequest('the request body must be a JSON object', null, 'invalid_body');
  const body = raw;
  if (typeof body.model !== 'string' || body.model === '') throw badRequest("'model' is required", 'model', 'missing_required_parameter');
  num(body, 'n', 1, 1, true); // only n = 1 is served
  for (const key of ['presence_penalty', 'frequency_penalty']) {
    if (body[key] !== undefined && body[key] !== null && body[key] !== 0) throw badRequest(`'${key}' is not supported (only 0)`, key, 'unsupported_parameter');
  }
  for (const key of ['tools', 'functions', 'logit_bias']) {
    const v = body[key];
    if (v !== undefined && v !== null && !(Array.isArray(v) ? v.length === 0 : isObj(v) && Object.keys(v).length === 0)) {
      throw badRequest(`'${key}' is not supported by this server`, key, 'unsupported_parameter');
    }
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') throw badRequest("'stream' must be a boolean", 'stream', 'invalid_type');
  const stream = body.stream === true;
  const so = body.stream_options;
  if (so !== undefined && so !== null && !isObj(so)) throw badRequest("'stream_options' must be an object", 'stream_options', 'invalid_type');
  const includeUsage = isObj(so) && so.include_usage === true;

  const maxTokens = num(body, 'max_completion_tokens', 1, 1e9, true) ?? num(body, 'max_tokens', 1, 1e9, true);
  const temperature = num(body, 'temperature', 0, 2);
  const topP = num(body, 'top_p', Number.MIN_VALUE, 1);
  const topK = num(body, 'top_k', 0, 1e9, true);
  const seed = num(body, 'seed', -(2 ** 53), 2 ** 53, true);
  const repetitionPenalty = num(body, 'repetition_penalty', Number.MIN_VALUE, 100);
  const minNewTokens = num(body, 'min_tokens', 0, 1e9, true);
  let stop: string[] = [];
  if (typeof body.stop === 'string') stop = [body.stop];
  else if (Array.isArray(body.stop)) {
    if (body.stop.length > 4 || !body.stop.every((s) => typeof s === 'string' && s !== '')) throw badRequest("'stop' must be a string or up to 4 non-empty strings", 'stop', 'invalid_value');
    stop = body.stop as string[];
  } else if (body.stop !== undefined && body.stop !== null) throw badRequest("'stop' must be a string or a list of strings", 'stop', 'invalid_type');

  if (body.logprobs !== undefined && body.logprobs !== null && typeof body.logprobs !== 'boolean') throw badRequest("'logprobs' must be a boolean", 'logprobs', 'invalid_type');
  const top = num(body, 'top_logprobs', 0, 20, true);
  if (top !== undefined && body.logprobs !== true) throw badRequest("'top_logprobs' needs 'logprobs': true", 'top_logprobs', 'invalid_value');
  const logprobs = body.logprobs === true ? (top ?? 0) : null;

  const requestMaxNum = maxNumOf(body.max_num, 'max_num');
  const { systemMessage, turns } = parseMessages(body.messages, requestMaxNum ?? defaultMaxNum);

  // OpenAI: temperature 0 is greedy. Unset is greedy too: the reference's generation_config (do_sample=False).
  const doSample = temperature !== undefined && temperature > 0;
  const generation: GenerationOptions = {
    doSample,
    temperature: doSample ? temperature : undefined,
    topP,
    topK: topK ?? 0, // OpenAI has no top-k: off unless asked for
    seed: seed ?? (doSample ? Math.floor(Math.random() * 2 ** 31) : 0),
    repetitionPenalty,
    minNewTokens,
    stopStrings: stop,
    maxNewTokens: maxTokens,
  };
  return { model: body.model, stream, includeUsage, systemMessage, turns, generation, logprobs };
}

function textOf(content: unknown, param: string, allowImages: boolean, maxNum: number, images: ImagePart[]): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw badRequest(`'${param}' must be a string or a list of content parts`, param, 'invalid_type');
  const texts: string[] = [];
  content.forEach((part, j) => {
    const p = `${param}[${j}]`;
    if (!isObj(part)) throw badRequest(`'${p}' must be an object`, p, 'invalid_type');
    if (part.type === 'text') {
      if (typeof part.text !== 'string') throw badRequest(`'${p}.text' must be a string`, `${p}.text`, 'invalid_type');
      texts.push(part.text);
    } else if (part.type === 'image_url') {
      if (!allowImages) throw badRequest(`'${p}': images are allowed in user messages only`, p, 'invalid_value');
      const iu = part.image_url;
      const url = typeof iu === 'string' ? iu : isObj(iu) ? iu.url : undefined;
      if (typeof url !== 'string' || url === '') throw badRequest(`'${p}.image_url.url' is required`, `${p}.image_url.url`, 'missing_required_parameter');
      const detail = isObj(iu) ? iu.detail : undefined;
      if (detail !== undefined && detail !== null && detail !== 'low' && detail !== 'high' && detail !== 'auto') {
        throw badRequest(`'${p}.image_url.detail' must be low, high or auto`, `${p}.image_url.detail`, 'invalid_value');
      }
      const own = isObj(iu) ? maxNumOf(iu.max_num, `${p}.image_url.max_num`) : undefined;
      images.push({ url, maxNum: own ?? (detail === 'low' ? 1 : maxNum), param: `${p}.image_url` });
    } else throw badRequest(`'${p}.type' must be 'text' or 'image_url'`, `${p}.type`, 'invalid_value');
  });
  return texts.join('\n');
}

function parseMessages(messages: unknown, maxNum: number): { systemMessage: string | null; turns: UserTurn[] } {
  if (!Array.isArray(messages) || messages.length === 0) throw badRequest("'messages' must be a non-empty list", 'messages', 'invalid_value');
  const system: string[] = [];
  const turns: UserTurn[] = [];
  messages.forEach((m, i) => {
    const param = `messages[${i}]`;
    if (!isObj(m)) throw badRequest(`'${param}' must be an object`, param, 'invalid_type');
    const role = m.role;
    if (role === 'system' || role === 'developer') {
      system.push(textOf(m.content, `${param}.content`, false, maxNum, []));
    } else if (role === 'user') {
      const images: ImagePart[] = [];
      const text = textOf(m.content, `${param}.content`, true, maxNum, images);
      const last = turns[turns.length - 1];
      if (last && last.answer === null) {
        // Consecutive user messages form one question.
        last.text = last.text === '' ? text : text === '' ? last.text : `${last.text}\n${text}`;
        last.images.push(...images);
      } else turns.push({ text, images, answer: null });
    } else if (role === 'assistant') {
      const last = turns[turns.length - 1];
      if (!last || last.answer !== null) throw badRequest(`'${param}': an assistant message must follow a user message`, param, 'invalid_value');
      last.answer = textOf(m.content ?? '', `${param}.content`, false, maxNum, []);
    } else throw badRequest(`'${param}.role' must be system, developer, user or assistant`, `${param}.role`, 'invalid_value');
  });
  if (turns.length === 0 || turns[turns.length - 1]!.answer !== null) throw badRequest("the last message must be a user message", 'messages', 'invalid_value');
  return { systemMessage: system.length > 0 ? system.join('\n') : null, turns };
}

/**
 * Loads and tiles the images (or takes their geometry and embeddings from the vision cache), renders
 * and tokenizes the prompt and checks the context — all before any model call.
 */
export async function prepareChat(
  vl: MiniVL,
  body: ChatBody,
  ctx: { policy: ImagePolicy; visionCache: VisionCache; signal?: AbortSignal },
): Promise<PreparedRequest> {
  const cfg = vl.config;
  const imageCtx: ImageContext = { ...ctx, tiling: { imageSize: cfg.imageSize, useThumbnail: cfg.useThumbnail } };
  const images: SequenceImage[] = [];
  const history: Turn[] = [];
  let question = '';
  for (const [t, turn] of body.turns.entries()) {
    const before = images.length;
    for (const part of turn.images) images.push(await loadImage(part, imageCtx));
    const q = withImagePlaceholders(turn.text, before, images.length - before);
    if (t < body.turns.length - 1) history.push([q, turn.answer ?? '']);
    else question = q;
  }
  let p: ReturnType<typeof buildChatPrompt>;
  try {
    p = buildChatPrompt(vl.tokenizer, {
      template: cfg.template,
      systemMessage: body.systemMessage ?? vl.systemMessage,
      history,
      question,
      numPatchesList: images.map((i) => i.numTiles),
      numImageToken: cfg.numImageToken,
    });
  } catch (e) {
    if (e instanceof MinivlError) throw badRequest(e.message, 'messages', 'invalid_prompt');
    throw e;
  }
  const context = cfg.llm.maxPositionEmbeddings;
  const maxNewTokens = body.generation.maxNewTokens ?? Math.min(DEFAULT_MAX_NEW_TOKENS, context - p.ids.length);
  try {
    checkContextLength(p.ids.length, Math.max(1, maxNewTokens), context);
  } catch (e) {
    throw badRequest(
      `This model's maximum context length is ${context} tokens. However, you requested ${p.ids.length + Math.max(1, maxNewTokens)} tokens ` +
        `(${p.ids.length} in the messages, ${Math.max(1, maxNewTokens)} in the completion). Please reduce the length of the messages, the images' tiles (max_num, detail) or the completion.`,
      'messages',
      'context_length_exceeded',
    );
  }
  const imageTiles = images.reduce((a, i) => a + i.numTiles, 0);
  return {
    promptIds: p.ids,
    imgContextId: p.imgContextId,
    sepTokenId: p.sepTokenId,
    sepText: p.sepText,
    images,
    generation: { ...body.generation, maxNewTokens },
    imageTiles,
    imageTokens: imageTiles * cfg.numImageToken,
  };
}

interface ImageContext {
  policy: ImagePolicy;
  visionCache: VisionCache;
  tiling: { imageSize: number; useThumbnail: boolean };
  signal?: AbortSignal;
}

/** An image's geometry and, when cached, its embeddings; otherwise its tiles for the vision model. */
async function loadImage(part: ImagePart, ctx: ImageContext): Promise<SequenceImage> {
  const bytes = await loadImageUrl(part.url, ctx.policy, part.param, ctx.signal);
  const { imageSize, useThumbnail } = ctx.tiling;
  const key = imageKey(bytes, part.maxNum, imageSize, useThumbnail);
  const hit = ctx.visionCache.get(key);
  if (hit) return { key, width: hit.width, height: hit.height, numTiles: hit.numTiles, vitEmbeds: hit.vitEmbeds };
  try {
    const p = await preprocessImage(bytes, { maxNum: part.maxNum, imageSize, useThumbnail });
    return { key, width: p.width, height: p.height, numTiles: p.numTiles, pixelValues: p.pixelValues };
  } catch (e) {
    if (e instanceof MinivlError) throw new ApiError(400, `${part.param}: ${e.message}`, 'invalid_request_error', part.param, 'invalid_image');
    throw e;
  }
}
