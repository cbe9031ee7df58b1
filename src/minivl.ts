/**
 * The library facade: load a checkpoint (folder or hub id) once, then chat about images.
 *
 *   const vl = await MiniVL.load('OpenGVLab/InternVL2-1B');
 *   const { text } = await vl.chat({ images: ['cat.jpg'], question: 'Describe the image.' });
 *   for await (const chunk of vl.chatStream({ images: ['cat.jpg'], question: 'And the colors?' })) process.stdout.write(chunk.text);
 *
 * chat() follows the reference InternVLChatModel.chat() step by step (prompting.md §5); a ChatSession keeps
 * history and images across turns (and caches each image's tiles and vision embeddings).
 */
import type { Precision, PrefillWeights } from './runtime/precision.ts';
import { fail } from './errors.ts';
import { host } from './host/platform.ts';
import type { DeviceRequest } from './host/types.ts';
import { concatFloat32 } from './io/dtype.ts';
import type { HubOptions } from './io/hub.ts';
import type { Model } from './runtime/model.ts';
import { loadTokenizer } from './tokenizer/load.ts';
import type { Tokenizer } from './tokenizer/types.ts';
import { preprocessImage } from './image/preprocess.ts';
import type { Grid } from './image/grid.ts';
import type { RgbImage } from './image/types.ts';
import { getTemplate, parseGrounding, SYSTEM_MESSAGES, type GroundedRef } from './prompt/index.ts';
import type { ModelConfig } from './model/config.ts';
import {
  generate, checkContextLength, DEFAULT_MAX_NEW_TOKENS, GenerationAbortedError,
  type GenerationOptions, type TokenChunk,
} from './generate/generate.ts';
import { buildChatPrompt, answerTexts, withImagePlaceholders, type Turn } from './generate/chat-prompt.ts';
import type { StopReason } from './generate/stop.ts';

/** An image: a file path, encoded bytes (Buffer/Uint8Array: JPEG, PNG, WebP, GIF...), or decoded RGB pixels. */
export type ImageInput = string | Uint8Array | RgbImage;

/** Progress of slow steps, for a status line. */
export type ProgressEvent =
  | { stage: 'resolve'; model: string }
  | { stage: 'load'; dir: string }
  | { stage: 'loaded'; dir: string; ms: number }
  | { stage: 'preprocess'; images: number }
  | { stage: 'encode'; tiles: number }
  | { stage: 'prefill'; tokens: number }
  | { stage: 'generate' };

export interface MiniVLLoadOptions {
  /** Hub download settings (cache folder, offline, endpoint, token, progress stream). */
  hub?: HubOptions;
  /** System message for every chat; default: config `system_message`, else the checkpoint's (see defaultSystemMessage). */
  systemMessage?: string;
  /** ONNX Runtime intra-op threads (default: all cores). */
  threads?: number;
  /** Weight precision: fp32 (default), fp16, int8 or int4 (converted once into the weight cache; README "Precisions"). */
  dtype?: Precision;
  /** With int4 on the CPU: prompt prefill on an int8 copy of the LLM's linears (faster prefill, more memory; README "Precisions"). */
  prefillWeights?: PrefillWeights;
  /**
   * Where the model runs: `cpu` (default), `webgpu`, or `auto` (WebGPU when an adapter exists, else
   * the CPU). A WebGPU request that cannot be met falls back to the CPU and says so once through `warn`;
   * `model.device` tells where it runs.
   */
  device?: DeviceRequest;
  onProgress?: (e: ProgressEvent) => void;
  /** Non-fatal warnings (e.g. unknown tensors). */
  warn?: (msg: string) => void;
  signal?: AbortSignal;
  /** A LoRA adapter folder (adapter_config.json + adapter_model.safetensors) applied unmerged at load. */
  lora?: string;
  /** Progress lines of slow one-time steps: the weight conversion of fp16/int8/int4 into the weight cache. */
  log?: (line: string) => void;
}

export interface ChatRequest {
  question: string;
  /** Images of this request, in prompt order. With history, pass the images of the whole conversation again (as the reference). */
  images?: ImageInput | readonly ImageInput[];
  /** Previous (question, answer) pairs; questions keep their `<image>` placeholders. */
  history?: readonly Turn[] | null;
  /** Max tiles per image (thumbnail excluded). Default 12 (model cards). */
  maxNum?: number;
  systemMessage?: string;
  generation?: GenerationOptions;
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
}

/** What an image became: its size (for grounding boxes) and its tiles. */
export interface ImageInfo {
  width: number;
  height: number;
  grid: Grid;
  numTiles: number;
}

/** The exact model input of a request, before any model call. */
export interface PreparedChat {
  prompt: string;
  promptIds: number[];
  /** The question as it goes into history (with the auto-inserted `<image>\n`). */
  question: string;
  numPatchesList: number[];
  images: ImageInfo[];
  maxNewTokens: number;
}

export interface ChatResult {
  /** The answer as the reference chat() returns it (special tokens skipped, cut at the separator, stripped). */
  text: string;
  /** The answer with grounding tags kept: `<ref>the dog</ref><box>[[120, 340, 560, 890]]</box>`. */
  rawText: string;
  /** Grounded phrases of the answer, boxes in pixels of the first image (0..1000 units without images). */
  grounding: GroundedRef[];
  question: string;
  /** history + [question, text]: pass it as `history` of the next turn. */
  history: Turn[];
  stopReason: StopReason;
  /** The exact prompt ids fed to the model. */
  promptIds: number[];
  /** Generated ids, the stop token included. */
  tokenIds: number[];
  promptTokens: number;
  images: ImageInfo[];
  timings: { preprocessMs: number; encodeMs: number; prefillMs: number; decodeMs: number };
}

/**
 * An answer in the making: iterate (once) for token chunks, then await `result` for the whole answer; or
 * await `result` without iterating (reading it first starts the answer without a consumer).
 */
export interface ChatStream extends AsyncIterable<TokenChunk> {
  readonly result: Promise<ChatResult>;
}

export { GenerationAbortedError };

/** One image after preprocessing, with its vision embeddings once computed (sessions reuse them). */
interface ImageEntry {
  info: ImageInfo;
  pixelValues: Float32Array;
  vitEmbeds?: Float32Array;
}

const DEFAULT_MAX_NUM = 12;

export class MiniVL {
  private constructor(
    readonly model: Model,
    readonly tokenizer: Tokenizer,
    /** The checkpoint folder (a hub id resolves to its snapshot folder). */
    readonly dir: string,
    readonly systemMessage: string,
  ) {}

  get config(): ModelConfig {
    return this.model.config;
  }

  static async load(dirOrRepo: string, opts: MiniVLLoadOptions = {}): Promise<MiniVL> {
    const progress = opts.onProgress ?? (() => {});
    progress({ stage: 'resolve', model: dirOrRepo });
    const dir = await host.resolveModel(dirOrRepo, { ...opts.hub, signal: opts.hub?.signal ?? opts.signal });
    if (opts.signal?.aborted) fail(`loading ${dirOrRepo} was interrupted`);
    progress({ stage: 'load', dir });
    const t0 = performance.now();
    // Both load at once; when both fail, the model's error (config.json, weights) is reported, as it is
    // the root cause in a folder that is not a checkpoint at all — not whichever failure came first.
    const [modelResult, tokenizerResult] = await Promise.allSettled([
      host.loadModel(dir, { intraOpNumThreads: opts.threads, device: opts.device, warn: opts.warn, log: opts.log, dtype: opts.dtype, prefillWeights: opts.prefillWeights, loraAdapter: opts.lora }),
      loadTokenizer(dir),
    ]);
    if (modelResult.status === 'rejected') throw modelResult.reason;
    if (tokenizerResult.status === 'rejected') {
      await modelResult.value.release();
      throw tokenizerResult.reason;
    }
    const model = modelResult.value;
    const tokenizer = tokenizerResult.value;
    progress({ stage: 'loaded', dir, ms: performance.now() - t0 });
    const cfgSystem = (model.checkpoint.configJson as { system_message?: unknown } | null)?.system_message;
    // A hub id names the checkpoint (a local folder's name says nothing about what is in it).
    const hubRepo = dir === host.path.resolve(dirOrRepo) ? null : dirOrRepo.split('@')[0]!;
    const systemMessage =
      opts.systemMessage ?? (typeof cfgSystem === 'string' ? cfgSystem : defaultSystemMessage(model.config.template, hubRepo));
    return new MiniVL(model, tokenizer, dir, systemMessage);
  }

  /** Builds the exact prompt ids of a request and checks the context length; runs no model. */
  async prepare(req: ChatRequest): Promise<PreparedChat> {
    const images = await this.preprocess(req);
    return this.prepareWith(req, images.map((e) => e.info));
  }

  /** One answer, reference chat() semantics. */
  async chat(req: ChatRequest): Promise<ChatResult> {
    const s = this.chatStream(req);
    return s.result;
  }

  /** One answer as a stream of token chunks (text is UTF-8 safe and never shows the stop separator). */
  chatStream(req: ChatRequest): ChatStream {
    return toChatStream(this.run(req, null));
  }

  /** A multi-turn conversation that keeps history and images (and their vision embeddings). */
  session(opts: { systemMessage?: string; maxNum?: number; generation?: GenerationOptions } = {}): ChatSession {
    return new ChatSession(this, opts);
  }

  async release(): Promise<void> {
    await this.model.release();
  }

  // -------------------------------------------------------------------------------------------

  /** @internal Decodes and tiles the request's images. */
  async preprocess(req: { images?: ImageInput | readonly ImageInput[]; maxNum?: number; onProgress?: (e: ProgressEvent) => void }): Promise<ImageEntry[]> {
    const list = req.images === undefined ? [] : isImageList(req.images) ? [...req.images] : [req.images];
    if (list.length > 0) req.onProgress?.({ stage: 'preprocess', images: list.length });
    const cfg = this.config;
    const out: ImageEntry[] = [];
    for (const src of list) {
      const p = await preprocessImage(src, { maxNum: req.maxNum ?? DEFAULT_MAX_NUM, imageSize: cfg.imageSize, useThumbnail: cfg.useThumbnail });
      out.push({ info: { width: p.width, height: p.height, grid: p.grid, numTiles: p.numTiles }, pixelValues: p.pixelValues });
    }
    return out;
  }

  private prepareWith(req: ChatRequest, images: ImageInfo[]): PreparedChat & ReturnType<typeof buildChatPrompt> {
    const numPatchesList = images.map((i) => i.numTiles);
    const p = buildChatPrompt(this.tokenizer, {
      template: this.config.template,
      systemMessage: req.systemMessage ?? this.systemMessage,
      history: req.history,
      question: req.question,
      numPatchesList,
      numImageToken: this.config.numImageToken,
    });
    const maxNewTokens = req.generation?.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
    checkContextLength(p.ids.length, maxNewTokens, this.config.llm.maxPositionEmbeddings);
    return { ...p, promptIds: p.ids, numPatchesList, images, maxNewTokens };
  }

  /** @internal The whole request: preprocess (unless `entries` are given), prompt, encode, generate. */
  async *run(req: ChatRequest, entries: ImageEntry[] | null): AsyncGenerator<TokenChunk, ChatResult, void> {
    const { signal } = req;
    const progress = req.onProgress ?? (() => {});
    const t0 = performance.now();
    const images = entries ?? (await this.preprocess(req));
    const preprocessMs = performance.now() - t0;
    const p = this.prepareWith(req, images.map((e) => e.info)); // context check before any model call
    const abortedBeforeStart = () => new GenerationAbortedError([], '');
    if (signal?.aborted) throw abortedBeforeStart();

    const t1 = performance.now();
    const todo = images.filter((e) => !e.vitEmbeds);
    if (todo.length > 0) progress({ stage: 'encode', tiles: todo.reduce((a, e) => a + e.info.numTiles, 0) });
    for (const e of todo) {
      e.vitEmbeds = (await this.model.encodeImages(e.pixelValues, e.info.numTiles)).vitEmbeds;
      if (signal?.aborted) throw abortedBeforeStart();
    }
    const vit = images.length === 0 ? null : concatFloat32(images.map((e) => e.vitEmbeds!));
    const embeds = await this.model.embedWithImages(p.ids, vit, p.imgContextId);
    const encodeMs = performance.now() - t1;

    progress({ stage: 'prefill', tokens: p.ids.length });
    const gen = generate({
      model: this.model,
      tokenizer: this.tokenizer,
      embeds,
      sepTokenId: p.sepTokenId,
      sepText: p.sepText,
      options: req.generation,
      signal,
    });
    let first = true;
    let r = await gen.next();
    while (!r.done) {
      if (first) progress({ stage: 'generate' });
      first = false;
      yield r.value;
      r = await gen.next();
    }
    const out = r.value;
    const { text, rawText } = answerTexts(this.tokenizer, out.tokenIds, p.sepText, req.generation?.stopStrings);
    const firstImage = images[0]?.info;
    return {
      text,
      rawText,
      grounding: parseGrounding(rawText, firstImage?.width ?? 1000, firstImage?.height ?? 1000),
      question: p.question,
      history: [...(req.history ?? []), [p.question, text]],
      stopReason: out.stopReason,
      promptIds: p.ids,
      tokenIds: out.tokenIds,
      promptTokens: p.ids.length,
      images: images.map((e) => e.info),
      timings: { preprocessMs, encodeMs, prefillMs: out.prefillMs, decodeMs: out.decodeMs },
    };
  }
}

/**
 * A conversation: each `ask` sends the whole history and every image so far, as the reference requires
 * on later turns; images added in a turn get their placeholders in that turn's question (`<image>\n` for
 * a conversation's only image, `Image-k: <image>\n` otherwise). An aborted answer is not added to history.
 */
export class ChatSession {
  history: Turn[] = [];
  private images: ImageEntry[] = [];
  private pending: ImageInput[] = [];

  constructor(
    readonly vl: MiniVL,
    readonly opts: { systemMessage?: string; maxNum?: number; generation?: GenerationOptions } = {},
  ) {}

  /** Images of the conversation so far (decoded size and tiles). */
  get imageInfos(): ImageInfo[] {
    return this.images.map((e) => e.info);
  }

  /** Queues images for the next question. */
  addImages(...images: ImageInput[]): void {
    this.pending.push(...images);
  }

  /** Forgets history and images. */
  reset(): void {
    this.history = [];
    this.images = [];
    this.pending = [];
  }

  /** Asks a question (with any queued images and `opts.images`); stream it or await `.result`. */
  ask(
    question: string,
    opts: { images?: readonly ImageInput[]; generation?: GenerationOptions; signal?: AbortSignal; onProgress?: (e: ProgressEvent) => void } = {},
  ): ChatStream {
    const self = this;
    async function* run(): AsyncGenerator<TokenChunk, ChatResult, void> {
      const newSources = [...self.pending, ...(opts.images ?? [])];
      self.pending = []; // a bad image must not poison the following questions
      const fresh = await self.vl.preprocess({ images: newSources, maxNum: self.opts.maxNum, onProgress: opts.onProgress });
      const all = [...self.images, ...fresh];
      const q = withImagePlaceholders(question, self.images.length, fresh.length);
      const result = yield* self.vl.run(
        {
          question: q,
          history: self.history,
          systemMessage: self.opts.systemMessage,
          generation: { ...self.opts.generation, ...opts.generation },
          signal: opts.signal,
          onProgress: opts.onProgress,
        },
        all,
      );
      self.images = all;
      self.history = result.history;
      return result;
    }
    return toChatStream(run());
  }
}

/** Wraps a generator as an async iterable with a `result` promise; `result` alone drives it to the end. */
function toChatStream(gen: AsyncGenerator<TokenChunk, ChatResult, void>): ChatStream {
  let resolve!: (r: ChatResult) => void;
  let reject!: (e: unknown) => void;
  const result = new Promise<ChatResult>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  result.catch(() => {}); // a caller that only iterates sees the error there
  let started = false;
  async function* iterate(): AsyncGenerator<TokenChunk, void, void> {
    try {
      let r = await gen.next();
      while (!r.done) {
        yield r.value;
        r = await gen.next();
      }
      resolve(r.value);
    } catch (e) {
      reject(e);
      throw e;
    } finally {
      // The consumer stopped early (break): end the generator so nothing keeps running.
      await gen.return(undefined as never).catch(() => {});
      reject(new GenerationAbortedError([], ''));
    }
  }
  return {
    [Symbol.asyncIterator]() {
      if (started) fail('a chat stream can be iterated only once');
      started = true;
      return iterate();
    },
    get result() {
      if (!started) {
        started = true;
        void (async () => {
          try {
            for await (const _ of iterate());
          } catch {
            /* reported through result */
          }
        })();
      }
      return result;
    },
  };
}

function isImageList(x: ImageInput | readonly ImageInput[]): x is readonly ImageInput[] {
  return Array.isArray(x);
}

/**
 * The released Mini-InternVL-Chat-V1-5 checkpoints were trained with English system messages that
 * their files do not record (their config.json equals InternVL2's); they are known by their hub ids.
 */
const HUB_SYSTEM_MESSAGES: Readonly<Record<string, string>> = {
  'opengvlab/mini-internvl-chat-2b-v1-5': SYSTEM_MESSAGES.miniInternvl2bV15,
  'opengvlab/mini-internvl-chat-4b-v1-5': SYSTEM_MESSAGES.miniInternvl4bV15,
};

/**
 * The default system message of a checkpoint without `system_message` in its config: the released
 * message of a known hub checkpoint, else its template's (InternVL2's). A local V1-5 folder needs the
 * message passed explicitly (`systemMessage`, `minivl chat --system`).
 */
export function defaultSystemMessage(template: string, hubRepo: string | null = null): string {
  return (hubRepo && HUB_SYSTEM_MESSAGES[hubRepo.toLowerCase()]) || getTemplate(template).systemMessage;
}
