/**
 * The judge model the VLMEvalKit protocols consult (MMMU, MMBench, GMAI-MMBench: option matching; MathVista:
 * answer extraction; DriveLM: ChatGPT score), spoken to as an OpenAI-compatible chat completion. Requests carry the
 * reference's prompt, temperature, max_tokens and judge model (judge-prompts.md); the HTTP client mirrors
 * VLMEvalKit's `OpenAIWrapper`/`BaseAPI`: a failed call is retried, and after the last try the reply is the
 * reference's fail text — never an exception — so the scorers take the reference's path for a failed judge.
 */
import { createHash } from 'node:crypto';
import { fail } from '../errors.ts';
import { FAIL_MSG } from './metrics/can-infer.ts';

export interface JudgeMessage {
  role: 'system' | 'user';
  content: string;
}

/** One chat completion the reference sends: its default judge `model` (a judge may override it). */
export interface JudgeRequest {
  model: string;
  messages: JudgeMessage[];
  temperature: number;
  maxTokens: number;
}

export interface Judge {
  /** The reply text, or a text containing FAIL_MSG when the API gave none. */
  ask(req: JudgeRequest): Promise<string>;
  /** The model actually asked (undefined: each request's default). */
  readonly model?: string;
}

/** A stored request/reply pair; `key` identifies the request (replay looks replies up by it). */
export interface JudgeExchange {
  key: string;
  request: JudgeRequest;
  reply: string;
}

/** sha256 of the canonical request (model, messages, temperature, max tokens). */
export function judgeKey(req: JudgeRequest): string {
  const canon = JSON.stringify([req.model, req.messages.map((m) => [m.role, m.content]), req.temperature, req.maxTokens]);
  return createHash('sha256').update(canon).digest('hex');
}

/** The reference's fail text as `BaseAPI.generate` returns it. */
export const JUDGE_FAIL_REPLY = `${FAIL_MSG}.`;

export interface OpenAIJudgeOptions {
  /** e.g. `http://host:8000/v1`; `/chat/completions` is appended. */
  baseUrl: string;
  /** Overrides each request's reference model (`--judge-model`). */
  model?: string;
  /** Bearer key; default `OPENAI_API_KEY`. */
  apiKey?: string;
  /** Tries per request (VLMEvalKit OpenAIWrapper: retry=5). */
  tries?: number;
  /** Longest wait between tries, ms (reference: uniform in [0, 2·wait], wait = 5 s). */
  maxWaitMs?: number;
  /** Per-try timeout, ms (reference: 60 s × 1.1). */
  timeoutMs?: number;
}

/** An OpenAI-compatible judge over HTTP (`fetch`). */
export function openaiJudge(opts: OpenAIJudgeOptions): Judge {
  let base: URL;
  try {
    base = new URL(opts.baseUrl.endsWith('/') ? opts.baseUrl : `${opts.baseUrl}/`);
  } catch {
    fail(`--judge ${opts.baseUrl}: not a URL (expected e.g. http://host:8000/v1)`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') fail(`--judge ${opts.baseUrl}: only http(s) URLs are supported`);
  const url = new URL('chat/completions', base).toString();
  const tries = opts.tries ?? 5;
  const maxWaitMs = opts.maxWaitMs ?? 10_000;
  const timeoutMs = opts.timeoutMs ?? 66_000;
  const apiKey = opts.apiKey ?? process.env.OPENAI_API_KEY ?? '';
  return {
    model: opts.model,
    async ask(req) {
      // The payload OpenAIWrapper.generate_inner builds: text content as a one-part list, n=1, max_tokens.
      const body = JSON.stringify({
        model: opts.model ?? req.model,
        messages: req.messages.map((m) => ({ role: m.role, content: [{ type: 'text', text: m.content }] })),
        n: 1,
        temperature: req.temperature,
        max_tokens: req.maxTokens,
      });
      let answer: string | null = null;
      for (let i = 0; i < tries; i++) {
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${apiKey}` },
            body,
            signal: AbortSignal.timeout(timeoutMs),
          });
          const text = await res.text();
          let content: unknown;
          try {
            content = (JSON.parse(text) as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content;
          } catch {
            content = undefined;
          }
          answer = typeof content === 'string' ? content.trim() : JUDGE_FAIL_REPLY;
          if (res.ok && !answer.includes(FAIL_MSG) && answer !== '') return answer;
        } catch {
          // network error or timeout: the reference logs it and tries again
        }
        if (i + 1 < tries && maxWaitMs > 0) await new Promise((r) => setTimeout(r, Math.random() * maxWaitMs));
      }
      return answer === null || answer === '' ? JUDGE_FAIL_REPLY : answer;
    },
  };
}

/** Calls `onExchange` with every request/reply pair (to store them), answering from `inner`. */
export function recordingJudge(inner: Judge, onExchange: (ex: JudgeExchange) => void | Promise<void>): Judge {
  return {
    model: inner.model,
    async ask(req) {
      const reply = await inner.ask(req);
      const sent = inner.model ? { ...req, model: inner.model } : req;
      await onExchange({ key: judgeKey(sent), request: sent, reply });
      return reply;
    },
  };
}

/**
 * Answers from stored exchanges (re-scoring without calling the judge again). A request with no stored reply goes
 * to `fallback` when given, else is a one-line error. `model`: the model the stored replies came from, when a
 * `--judge-model` override was used.
 */
export function replayJudge(exchanges: Iterable<JudgeExchange>, opts: { fallback?: Judge; model?: string } = {}): Judge {
  const byKey = new Map<string, string>();
  for (const ex of exchanges) byKey.set(ex.key, ex.reply);
  const model = opts.model ?? opts.fallback?.model;
  return {
    model,
    async ask(req) {
      const sent = model ? { ...req, model } : req;
      const hit = byKey.get(judgeKey(sent));
      if (hit !== undefined) return hit;
      if (opts.fallback) return opts.fallback.ask(req);
      return fail(`judge replay: no stored reply for a ${sent.model} request (key ${judgeKey(sent).slice(0, 12)}); rerun with a judge`);
    },
  };
}
