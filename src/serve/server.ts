/**
 * The OpenAI-compatible HTTP server on Fastify (chosen over Hono: it was already a dependency, runs on
 * Node's own http server — whose request/response 'close' events give client-disconnect cancellation
 * directly — and has body limits, JSON parsing errors and graceful close built in).
 *
 *   POST /v1/chat/completions   chat (JSON or SSE stream), batched by the Scheduler
 *   GET  /v1/models             the one served model
 *   GET  /health                liveness + load
 *   GET  /metrics               Prometheus text (prom-client)
 *   GET  /                      the web page (static files of ./web, no build step)
 */
import { readFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { MiniVL } from '../minivl.ts';
import { GenerationAbortedError } from '../generate/generate.ts';
import { answerTexts } from '../generate/chat-prompt.ts';
import { parseGrounding } from '../prompt/index.ts';
import { ApiError } from './errors.ts';
import { ServeMetrics } from './metrics.ts';
import { PrefixCache, VisionCache } from './caches.ts';
import { DEFAULT_IMAGE_POLICY, type ImagePolicy } from './image-source.ts';
import { parseChatBody, prepareChat, type ChatBody, type PreparedRequest } from './chat-request.ts';
import { QueueFullError, Scheduler, ShuttingDownError, type GeneratedToken, type SequenceResult } from './scheduler.ts';
import type { TokenLogprob } from '../generate/logprobs.ts';

export interface ServeOptions {
  /** The id clients pass as `model` (default: the checkpoint folder's name). */
  modelName: string;
  apiKey?: string | null;
  /** Sequences decoded together (batch slots). */
  maxConcurrency?: number;
  /** Requests waiting for a slot before 429. */
  maxQueue?: number;
  /** Largest request body in bytes (413 above). */
  bodyLimit?: number;
  images?: Partial<ImagePolicy>;
  /** Tiles per image for detail high/auto (default 12, the library's default). */
  defaultMaxNum?: number;
  visionCacheBytes?: number;
  /** 0 disables KV-prefix reuse. */
  prefixCacheBytes?: number;
  prefillChunk?: number;
  visionTilesPerStep?: number;
}

export interface MinivlServer {
  app: FastifyInstance;
  scheduler: Scheduler;
  metrics: ServeMetrics;
  /** Starts listening; returns the base URL. */
  listen(host: string, port: number): Promise<string>;
  /** Stops accepting, lets running requests finish for `graceMs`, cancels the rest, closes. */
  close(graceMs?: number): Promise<void>;
}

const WEB_FILES: Record<string, string> = { '/': 'index.html', '/app.js': 'app.js', '/style.css': 'style.css' };
const MIME: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

export function createServer(vl: MiniVL, opts: ServeOptions): MinivlServer {
  const metrics = new ServeMetrics();
  const visionCache = new VisionCache(opts.visionCacheBytes ?? 512 * 1024 * 1024);
  const prefixBytes = opts.prefixCacheBytes ?? 1024 * 1024 * 1024;
  const scheduler = new Scheduler(vl.model, vl.tokenizer, {
    slots: opts.maxConcurrency ?? 8,
    maxQueue: opts.maxQueue ?? 32,
    prefillChunk: opts.prefillChunk ?? 512,
    visionTilesPerStep: opts.visionTilesPerStep ?? 1,
    visionCache,
    prefixCache: prefixBytes > 0 ? new PrefixCache(prefixBytes) : null,
    metrics,
  });
  const policy: ImagePolicy = { ...DEFAULT_IMAGE_POLICY, ...opts.images };
  const defaultMaxNum = opts.defaultMaxNum ?? 12;
  const created = Math.floor(Date.now() / 1000);
  const web = Object.fromEntries(Object.values(WEB_FILES).map((f) => [f, readFileSync(new URL(`./web/${f}`, import.meta.url))]));
  let closing = false;

  const app = Fastify({ bodyLimit: opts.bodyLimit ?? 64 * 1024 * 1024, logger: false, return503OnClosing: true });

  // Every response is counted once, streams included (they bypass Fastify's hooks).
  app.addHook('onRequest', async (req, reply) => {
    reply.raw.once('close', () => metrics.requests.inc({ route: req.routeOptions.url ?? 'unknown', status: String(reply.raw.statusCode) }));
    if (opts.apiKey && req.url.startsWith('/v1/') && !validKey(req.headers.authorization, opts.apiKey)) {
      throw new ApiError(401, 'Incorrect API key provided.', 'authentication_error', null, 'invalid_api_key');
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    const e = toApiError(err);
    void reply.code(e.status).headers(e.headers).send(e.body());
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(new ApiError(404, `Unknown request URL: ${req.method} ${req.url}`, 'invalid_request_error', null, 'unknown_url').body());
  });

  for (const [route, file] of Object.entries(WEB_FILES)) {
    app.get(route, async (_req, reply) => reply.type(MIME[file.split('.').pop()!]!).send(web[file]));
  }
  app.get('/health', async (_req, reply) =>
    reply.code(closing ? 503 : 200).send({ status: closing ? 'shutting_down' : 'ok', model: opts.modelName, active: scheduler.active, queued: scheduler.queued }),
  );
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  app.get('/v1/models', async () => ({ object: 'list', data: [modelCard()] }));
  app.get('/v1/models/:id', async (req) => {
    if ((req.params as { id: string }).id !== opts.modelName) throw unknownModel((req.params as { id: string }).id);
    return modelCard();
  });
  app.post('/v1/chat/completions', (req, reply) => chatCompletion(req, reply));

  function modelCard() {
    return { id: opts.modelName, object: 'model', created, owned_by: 'minivl' };
  }

  function unknownModel(id: string): ApiError {
    return new ApiError(404, `The model '${id}' does not exist (this server serves '${opts.modelName}')`, 'invalid_request_error', 'model', 'model_not_found');
  }

  async function chatCompletion(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    if (closing) throw new ApiError(503, 'the server is shutting down', 'server_error', null, 'shutting_down');
    const body = parseChatBody(req.body, defaultMaxNum);
    if (body.model !== opts.modelName) throw unknownModel(body.model);
    // The client going away (any stage) cancels the request.
    const ac = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) ac.abort();
    });
    const prepared = await prepareChat(vl, body, { policy, visionCache, signal: ac.signal });
    const id = `chatcmpl-${crypto.randomUUID().replaceAll('-', '')}`;
    const now = Math.floor(Date.now() / 1000);
    const base = { id, created: now, model: opts.modelName, system_fingerprint: null };
    if (!body.stream) {
      const result = await submit(prepared, body, ac.signal);
      const { text, grounding } = finalTexts(prepared, body, result);
      return {
        ...base,
        object: 'chat.completion',
        choices: [{
          index: 0,
          message: { role: 'assistant', content: text, refusal: null, ...(grounding.length > 0 ? { grounding } : {}) },
          logprobs: body.logprobs !== null ? { content: result.logprobs.filter((l) => l.id !== prepared.sepTokenId).map(lp), refusal: null } : null,
          finish_reason: finishReason(result),
        }],
        usage: usage(prepared, result),
      };
    }
    // Streaming: an early failure (queue full, bad request) is still a plain JSON error.
    const raw = reply.raw;
    let started = false;
    const send = (obj: unknown) => raw.write(`data: ${JSON.stringify(obj)}\n\n`);
    const chunk = (delta: object, extra: object = {}) => ({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: null, ...extra }], ...(body.includeUsage ? { usage: null } : {}) });
    const start = () => {
      if (started) return;
      started = true;
      reply.hijack();
      raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      send(chunk({ role: 'assistant', content: '' }));
    };
    const onToken = (t: GeneratedToken) => {
      const logprobs = t.logprob && t.tokenId !== prepared.sepTokenId ? { content: [lp(t.logprob)], refusal: null } : null;
      if (t.text === '' && !logprobs) return;
      start();
      send(chunk({ content: t.text }, { logprobs }));
    };
    let result: SequenceResult;
    try {
      result = await submit(prepared, body, ac.signal, onToken);
    } catch (e) {
      if (!started) throw e;
      if (!raw.destroyed) {
        send(toApiError(e as Error).body());
        raw.end('data: [DONE]\n\n');
      }
      return reply;
    }
    start();
    const { grounding } = finalTexts(prepared, body, result);
    send(chunk({}, { finish_reason: finishReason(result), ...(grounding.length > 0 ? { grounding } : {}) }));
    if (body.includeUsage) send({ ...base, object: 'chat.completion.chunk', choices: [], usage: usage(prepared, result) });
    raw.end('data: [DONE]\n\n');
    return reply;
  }

  function submit(p: PreparedRequest, body: ChatBody, signal: AbortSignal, onToken?: (t: GeneratedToken) => void): Promise<SequenceResult> {
    return scheduler.submit({
      promptIds: p.promptIds, imgContextId: p.imgContextId, images: p.images, sepTokenId: p.sepTokenId, sepText: p.sepText,
      generation: p.generation, logprobs: body.logprobs, signal, onToken,
    });
  }

  /** The library chat()'s answer text, and the grounded boxes parsed from the answer with its tags kept. */
  function finalTexts(p: PreparedRequest, body: ChatBody, r: SequenceResult) {
    const { text, rawText } = answerTexts(vl.tokenizer, r.tokenIds, p.sepText, body.generation.stopStrings);
    const first = p.images[0];
    return { text, grounding: parseGrounding(rawText, first?.width ?? 1000, first?.height ?? 1000) };
  }

  function usage(p: PreparedRequest, r: SequenceResult) {
    return {
      prompt_tokens: r.promptTokens,
      completion_tokens: r.tokenIds.length,
      total_tokens: r.promptTokens + r.tokenIds.length,
      prompt_tokens_details: { cached_tokens: r.reusedTokens },
      // minivl's extra field: what the images cost.
      images: { count: p.images.length, tiles: p.imageTiles, tokens: p.imageTokens, vision_cache_hits: r.visionCacheHits },
    };
  }

  function lp(l: TokenLogprob) {
    const entry = (id: number, logprob: number) => {
      const token = vl.tokenizer.decode([id], { skipSpecialTokens: false });
      return { token, logprob, bytes: [...Buffer.from(token, 'utf8')] };
    };
    return { ...entry(l.id, l.logprob), top_logprobs: l.top.map((t) => entry(t.id, t.logprob)) };
  }

  return {
    app,
    scheduler,
    metrics,
    async listen(host, port) {
      return app.listen({ host, port });
    },
    async close(graceMs = 10_000) {
      closing = true;
      const closed = app.close();
      await scheduler.close(graceMs);
      await closed;
    },
  };
}

function finishReason(r: SequenceResult): 'stop' | 'length' {
  return r.stopReason === 'length' ? 'length' : 'stop';
}

function validKey(header: string | undefined, key: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!.trim());
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Any error → OpenAI's shape with the right status. */
function toApiError(err: Error & { statusCode?: number; code?: string }): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof QueueFullError) {
    return new ApiError(429, `${err.message}; retry after ${err.retryAfterS} s`, 'rate_limit_error', null, 'queue_full', { 'retry-after': String(err.retryAfterS) });
  }
  if (err instanceof ShuttingDownError) return new ApiError(503, err.message, 'server_error', null, 'shutting_down');
  if (err instanceof GenerationAbortedError) return new ApiError(499, 'the request was cancelled', 'invalid_request_error', null, 'cancelled');
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new ApiError(413, 'the request body is larger than the server accepts', 'invalid_request_error', null, 'request_too_large');
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new ApiError(415, 'send the body as application/json', 'invalid_request_error', null, 'unsupported_media_type');
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    // Fastify's own client errors: malformed JSON, empty body...
    return new ApiError(err.statusCode, `We could not parse the JSON body of your request. (${err.message})`, 'invalid_request_error', null, 'invalid_json');
  }
  if (err.name === 'MinivlError') return new ApiError(400, err.message, 'invalid_request_error', null, 'invalid_request');
  return new ApiError(500, `internal error: ${err.message.split('\n')[0]}`, 'server_error', null, 'internal_error');
}
