/**
 * Continuous batching on one model: requests wait in a bounded queue for one of `slots` batch slots;
 * each loop turn does one unit of start-up work for one joining sequence (a group of vision tiles or a
 * prefill chunk) and then one decode step for every sequence that is generating, all in ONE decoder call
 * (Model.forwardBatch over the BatchKVCache). Sequences join and leave between steps, so a long prompt
 * never stalls the running streams for more than a chunk. Only one ONNX Runtime call runs at a time.
 *
 * Cancellation: a request's AbortSignal is checked at every turn — queued, during vision encoding,
 * prefill or decode — and its slot is freed at once. Token choice and stop rules are the library's
 * (AnswerState), so a sequence's tokens are those generate() would produce alone.
 */
import { concatFloat32 } from '../io/dtype.ts';
import type { Model } from '../runtime/model.ts';
import { BatchKVCache } from '../runtime/batch-cache.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { AnswerState } from '../generate/answer.ts';
import { GenerationAbortedError, type GenerationOptions, type TokenChunk } from '../generate/generate.ts';
import type { StopReason } from '../generate/stop.ts';
import { tokenLogprob, type TokenLogprob } from '../generate/logprobs.ts';
import type { ImageSpan, PrefixCache, VisionCache } from './caches.ts';
import type { ServeMetrics } from './metrics.ts';

export interface SequenceImage {
  key: string;
  width: number;
  height: number;
  numTiles: number;
  /** From the vision cache when the request was prepared. */
  vitEmbeds?: Float32Array;
  /** Normalized tiles [numTiles, 3, S, S], when the embeddings were not cached. */
  pixelValues?: Float32Array;
}

export interface SequenceRequest {
  promptIds: number[];
  imgContextId: number;
  /** In prompt order (one `<IMG_CONTEXT>` run each). */
  images: SequenceImage[];
  sepTokenId: number;
  sepText: string;
  generation: GenerationOptions & { maxNewTokens: number };
  /** null: no log-probabilities; k ≥ 0: the chosen token's and the top k. */
  logprobs: number | null;
  signal: AbortSignal;
  onToken?: (t: GeneratedToken) => void;
}

export interface GeneratedToken extends TokenChunk {
  logprob?: TokenLogprob;
}

export interface SequenceResult {
  tokenIds: number[];
  streamedText: string;
  stopReason: StopReason;
  promptTokens: number;
  /** Prompt tokens whose keys/values came from the prefix cache. */
  reusedTokens: number;
  visionCacheHits: number;
  logprobs: TokenLogprob[];
  timings: { queuedMs: number; ttftMs: number; totalMs: number };
}

/** submit() when the queue is full. */
export class QueueFullError extends Error {
  constructor(readonly retryAfterS: number) {
    super('the server is busy: the request queue is full');
  }
}

/** submit() while shutting down. */
export class ShuttingDownError extends Error {
  constructor() {
    super('the server is shutting down');
  }
}

export interface SchedulerOptions {
  /** Sequences generating at once (batch slots). */
  slots: number;
  /** Requests allowed to wait for a slot; more get QueueFullError. */
  maxQueue: number;
  /** Prompt positions per prefill call (one unit of start-up work). */
  prefillChunk: number;
  /** Vision tiles per encoder call (one unit of start-up work). */
  visionTilesPerStep: number;
  visionCache: VisionCache;
  prefixCache: PrefixCache | null;
  metrics: ServeMetrics;
}

type Phase = 'vision' | 'prefill' | 'decode';

interface Pending {
  req: SequenceRequest;
  arrived: number;
  resolve: (r: SequenceResult) => void;
  reject: (e: unknown) => void;
}

interface Running extends Pending {
  slot: number;
  phase: Phase;
  admitted: number;
  spans: ImageSpan[];
  /** Positions [0, reused) were loaded from the prefix cache. */
  reused: number;
  /** Next image (index into req.images) and tile to encode. */
  visionImage: number;
  visionTile: number;
  tileParts: Float32Array[];
  embeds: Float32Array | null;
  prefilled: number;
  answer: AnswerState;
  logprobs: TokenLogprob[];
  lastTokenAt: number;
  firstTokenAt: number;
  visionHits: number;
}

export class Scheduler {
  readonly kv: BatchKVCache;
  private readonly queue: Pending[] = [];
  private readonly running: (Running | null)[];
  private wake: (() => void) | null = null;
  private loopDone: Promise<void>;
  private closing = false;
  private stopped = false;

  constructor(
    readonly model: Model,
    readonly tokenizer: Tokenizer,
    readonly opts: SchedulerOptions,
  ) {
    const llm = model.config.llm;
    this.kv = new BatchKVCache(llm.numLayers, llm.numKvHeads, llm.headDim, opts.slots, llm.maxPositionEmbeddings, model.kvDtype);
    opts.metrics.kvCacheSize = () => this.kv.bytes;
    this.running = new Array<Running | null>(opts.slots).fill(null);
    this.loopDone = this.loop();
  }

  get queued(): number {
    return this.queue.length;
  }

  get active(): number {
    return this.running.filter((r) => r !== null).length;
  }

  /** Runs a request to its end; rejects with GenerationAbortedError when its signal fires. */
  submit(req: SequenceRequest): Promise<SequenceResult> {
    if (this.closing) return Promise.reject(new ShuttingDownError());
    if (req.signal.aborted) return Promise.reject(new GenerationAbortedError([], ''));
    const freeSlots = this.running.filter((r) => r === null).length;
    if (this.queue.length >= freeSlots + this.opts.maxQueue) {
      return Promise.reject(new QueueFullError(Math.max(1, Math.ceil(this.queue.length / this.opts.slots))));
    }
    return new Promise<SequenceResult>((resolve, reject) => {
      this.queue.push({ req, arrived: performance.now(), resolve, reject });
      req.signal.addEventListener('abort', () => this.poke(), { once: true });
      this.opts.metrics.queueDepth.set(this.queue.length);
      this.poke();
    });
  }

  /**
   * Graceful stop: no new requests; running and queued ones get `graceMs` to finish, then are cancelled.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    const deadline = performance.now() + graceMs;
    while ((this.active > 0 || this.queue.length > 0) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.stopped = true;
    const cancelled = new GenerationAbortedError([], '');
    for (const p of this.queue.splice(0)) p.reject(cancelled);
    for (const r of this.running) if (r) this.finish(r, cancelled);
    this.poke();
    await this.loopDone;
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.reap();
      this.admit();
      const starting = this.running.filter((r): r is Running => r !== null && r.phase !== 'decode').sort((a, b) => a.admitted - b.admitted)[0];
      if (starting) await this.guard([starting], () => this.advance(starting));
      this.reap();
      const decoding = this.running.filter((r): r is Running => r !== null && r.phase === 'decode');
      if (decoding.length > 0) await this.guard(decoding, () => this.decodeStep(decoding));
      if (!starting && decoding.length === 0 && !this.stopped) {
        await new Promise<void>((r) => (this.wake = r));
      }
    }
  }

  /** Runs one unit of work; a failure ends the sequences it concerned (with the error), not the server. */
  private async guard(seqs: Running[], work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (e) {
      for (const s of seqs) if (this.running[s.slot] === s) this.finish(s, e);
    }
  }

  /** Drops aborted requests wherever they are. */
  private reap(): void {
    const m = this.opts.metrics;
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const p = this.queue[i]!;
      if (p.req.signal.aborted) {
        this.queue.splice(i, 1);
        m.cancelled.inc({ stage: 'queued' });
        p.reject(new GenerationAbortedError([], ''));
      }
    }
    m.queueDepth.set(this.queue.length);
    for (const r of this.running) {
      if (r && r.req.signal.aborted) {
        m.cancelled.inc({ stage: r.phase });
        this.finish(r, new GenerationAbortedError(r.answer.tokenIds.slice(), r.answer.streamedText));
      }
    }
  }

  private admit(): void {
    for (let slot = 0; slot < this.running.length && this.queue.length > 0; slot++) {
      if (this.running[slot]) continue;
      const p = this.queue.shift()!;
      const { req } = p;
      const spans = imageSpans(req.promptIds, req.imgContextId, req.images);
      const r: Running = {
        ...p, slot, phase: 'vision', admitted: performance.now(), spans, reused: 0, visionImage: 0, visionTile: 0, tileParts: [],
        embeds: null, prefilled: 0, answer: new AnswerState(this.tokenizer, req.sepTokenId, req.sepText, req.generation),
        logprobs: [], lastTokenAt: 0, firstTokenAt: 0, visionHits: 0,
      };
      this.kv.clear(slot);
      const prefix = this.prefixAllowed(req) ? this.opts.prefixCache?.lookup(req.promptIds, spans) : null;
      if (prefix) {
        this.kv.load(slot, prefix.rows, prefix.length);
        r.reused = prefix.length;
        this.opts.metrics.prefixReusedTokens.inc(prefix.length);
      }
      this.running[slot] = r;
    }
    this.opts.metrics.queueDepth.set(this.queue.length);
    this.opts.metrics.activeSequences.set(this.active);
  }

  /**
   * Reused keys/values were rotated with the RoPE of their own calls; that equals a fresh prefill only
   * where the rotation depends on the position alone (not Phi-3's long factors, chosen by length).
   */
  private prefixAllowed(req: SequenceRequest): boolean {
    const rs = this.model.config.llm.ropeScaling;
    if (rs.type !== 'longrope') return true;
    return req.promptIds.length + req.generation.maxNewTokens <= rs.originalMaxPositionEmbeddings;
  }

  /** One unit of start-up work: a group of vision tiles, or one prefill chunk (the last yields the first token). */
  private async advance(r: Running): Promise<void> {
    const { req } = r;
    if (r.phase === 'vision') {
      // Images wholly inside the reused prefix need no embeddings at all.
      while (r.visionImage < req.images.length) {
        const img = req.images[r.visionImage]!;
        const span = r.spans[r.visionImage]!;
        if (span.end <= r.reused) {
          r.visionImage++;
          continue;
        }
        img.vitEmbeds ??= this.opts.visionCache.get(img.key)?.vitEmbeds;
        if (!img.vitEmbeds) break;
        r.visionHits++;
        this.opts.metrics.visionCacheHits.inc();
        r.visionImage++;
      }
      if (r.visionImage < req.images.length) {
        const img = req.images[r.visionImage]!;
        const per = img.pixelValues!.length / img.numTiles;
        const n = Math.min(this.opts.visionTilesPerStep, img.numTiles - r.visionTile);
        const tiles = img.pixelValues!.subarray(r.visionTile * per, (r.visionTile + n) * per);
        r.tileParts.push((await this.model.encodeImages(tiles, n)).vitEmbeds);
        r.visionTile += n;
        if (r.visionTile === img.numTiles) {
          img.vitEmbeds = concatFloat32(r.tileParts);
          this.opts.visionCache.set(img.key, { width: img.width, height: img.height, numTiles: img.numTiles, vitEmbeds: img.vitEmbeds });
          this.opts.metrics.visionCacheMisses.inc();
          r.tileParts = [];
          r.visionTile = 0;
          r.visionImage++;
        }
        return;
      }
      r.phase = 'prefill';
    }
    if (!r.embeds) {
      const ids = req.promptIds.slice(r.reused);
      const needed = req.images.filter((_, i) => r.spans[i]!.start >= r.reused).map((im) => im.vitEmbeds!);
      r.embeds = await this.model.embedWithImages(ids, needed.length > 0 ? concatFloat32(needed) : null, req.imgContextId);
      return;
    }
    const H = this.model.config.llm.hiddenSize;
    const total = r.embeds.length / H;
    const n = Math.min(this.opts.prefillChunk, total - r.prefilled);
    const chunk = r.embeds.subarray(r.prefilled * H, (r.prefilled + n) * H);
    this.kv.reserve(this.kv.lengths[r.slot]! + n);
    // RoPE length = the whole prompt, in every chunk: the result equals one unchunked call (DecodeState.feed).
    const out = await this.model.forward({ embeds: chunk, past: this.kv.slotPast(r.slot), ropeLength: req.promptIds.length });
    if (this.running[r.slot] !== r) return; // cancelled meanwhile
    this.kv.appendSlot(r.slot, out.presentKeys, out.presentValues);
    r.prefilled += n;
    this.opts.metrics.prefillTokens.inc(n);
    if (r.prefilled === total) {
      r.embeds = null;
      r.phase = 'decode';
      this.accept(r, out.logits);
    }
  }

  /** One decoder call for every generating sequence. */
  private async decodeStep(seqs: Running[]): Promise<void> {
    const B = Math.max(...seqs.map((s) => s.slot)) + 1;
    const ids = new Array<number>(B).fill(0);
    for (const s of seqs) ids[s.slot] = s.answer.tokenIds[s.answer.tokenIds.length - 1]!;
    const embeds = await this.model.embed(ids);
    const lengths = Array.from(this.kv.lengths.subarray(0, B));
    const out = await this.model.forwardBatch({ embeds, past: this.kv.batchPast(), lengths });
    this.opts.metrics.batchSize.observe(seqs.length);
    const live = seqs.filter((s) => this.running[s.slot] === s);
    this.kv.appendBatch(live.map((s) => s.slot), out.presentKeys, out.presentValues);
    const V = this.model.config.llm.vocabSize;
    for (const s of live) this.accept(s, out.logits.subarray(s.slot * V, (s.slot + 1) * V));
  }

  /** Chooses a sequence's next token from its logits row, reports it, and ends the sequence when it stops. */
  private accept(r: Running, logits: Float32Array): void {
    const raw = r.req.logprobs !== null ? logits.slice() : null;
    const { chunk, stopReason } = r.answer.next(logits);
    const now = performance.now();
    const m = this.opts.metrics;
    if (r.firstTokenAt === 0) {
      r.firstTokenAt = now;
      m.ttft.observe((now - r.arrived) / 1000);
    } else m.tokenLatency.observe((now - r.lastTokenAt) / 1000);
    r.lastTokenAt = now;
    m.completionTokens.inc();
    const logprob = raw ? tokenLogprob(raw, chunk.tokenId, r.req.logprobs!) : undefined;
    if (logprob) r.logprobs.push(logprob);
    r.req.onToken?.({ ...chunk, logprob });
    if (!stopReason) return;
    m.promptTokens.inc(r.req.promptIds.length);
    const { tokenIds, streamedText } = r.answer;
    // The stored sequence: the prompt and every generated token that was fed back (all but the last).
    this.opts.prefixCache?.store([...r.req.promptIds, ...tokenIds.slice(0, -1)], r.spans, this.kv.extract(r.slot));
    this.finish(r, null, {
      tokenIds, streamedText, stopReason, promptTokens: r.req.promptIds.length, reusedTokens: r.reused, visionCacheHits: r.visionHits,
      logprobs: r.logprobs, timings: { queuedMs: r.admitted - r.arrived, ttftMs: r.firstTokenAt - r.arrived, totalMs: now - r.arrived },
    });
  }

  private finish(r: Running, error: unknown, result?: SequenceResult): void {
    if (this.running[r.slot] !== r) return;
    this.running[r.slot] = null;
    this.kv.clear(r.slot);
    this.opts.metrics.activeSequences.set(this.active);
    if (result) r.resolve(result);
    else r.reject(error);
    this.poke();
  }
}

/** The `<IMG_CONTEXT>` run of each image, in order. */
function imageSpans(ids: readonly number[], ctx: number, images: readonly SequenceImage[]): ImageSpan[] {
  const spans: ImageSpan[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] !== ctx || (i > 0 && ids[i - 1] === ctx)) continue;
    let j = i;
    while (j < ids.length && ids[j] === ctx) j++;
    const img = images[spans.length];
    spans.push({ start: i, end: j, key: img?.key ?? '' });
  }
  return spans;
}
