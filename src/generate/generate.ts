/**
 * Autoregressive decoding: one prefill over the prompt embeddings, then one token per step with the
 * engine's DecodeState (its KVCache appends each step's new keys/values and feeds the past as zero-copy
 * views — the cache is never copied per token). Token choice (sampling.ts), stop rules (stop.ts) and
 * incremental UTF-8-correct text (the tokenizer's stream decoder) are composed here; cancellation is an
 * AbortSignal checked before every model call.
 */
import { fail } from '../errors.ts';
import { DecodeState, type Model } from '../runtime/index.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { Sampler, type SamplingOptions } from './sampling.ts';
import { StopController, type StopReason } from './stop.ts';
import { StrippedTextStream } from './text-stream.ts';

/** What a caller may set per request (HF generate() names in camelCase). */
export interface GenerationOptions extends Omit<SamplingOptions, 'eosTokenIds' | 'minNewTokens'> {
  /** Hard cap on generated tokens, the stop token included. Default 1024 (model cards). */
  maxNewTokens?: number;
  /** The stop tokens cannot be chosen before this many tokens exist (HF min_new_tokens). Default 0. */
  minNewTokens?: number;
  /** Stop when the answer text contains one of these; the answer is the text before it. */
  stopStrings?: readonly string[];
  /**
   * Extra stop token ids. The template separator's id (the reference chat()'s only eos) always stops;
   * add e.g. the tokenizer EOS here to also stop on it.
   */
  eosTokenIds?: readonly number[];
}

export const DEFAULT_MAX_NEW_TOKENS = 1024;

/** One generated token and the answer text it made final ('' while a character or stop string is incomplete). */
export interface TokenChunk {
  tokenId: number;
  /** Text to append to what was streamed so far (stop strings and surrounding whitespace never appear). */
  text: string;
  /** 0-based index of the token in this answer. */
  index: number;
}

export interface GenerationOutput {
  /** Every generated id, the stop token included (as the reference's output). */
  tokenIds: number[];
  /** The concatenated streamed text. */
  streamedText: string;
  stopReason: StopReason;
  /** Milliseconds: prompt prefill (first token's logits), then the remaining decode steps. */
  prefillMs: number;
  decodeMs: number;
}

/** Thrown when the AbortSignal fires; carries what was generated until then. */
export class GenerationAbortedError extends Error {
  override readonly name = 'AbortError';
  constructor(
    readonly tokenIds: number[],
    readonly streamedText: string,
  ) {
    super(`generation aborted after ${tokenIds.length} token(s)`);
  }
}

/** Prompt + max new tokens must fit the model's context; checked before any model call. */
export function checkContextLength(promptTokens: number, maxNewTokens: number, maxPositionEmbeddings: number): void {
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) fail(`max new tokens must be an integer ≥ 1, got ${maxNewTokens}`);
  const need = promptTokens + maxNewTokens;
  if (need > maxPositionEmbeddings) {
    fail(
      `context overflow: the prompt has ${promptTokens} tokens and max new tokens is ${maxNewTokens}, together ${need} > ` +
        `the model's context of ${maxPositionEmbeddings} (max_position_embeddings); use fewer tiles (max num), fewer images or fewer new tokens`,
    );
  }
}

export interface GenerateInput {
  model: Model;
  tokenizer: Tokenizer;
  /** Prompt embeddings [S, H] (image rows already merged). */
  embeds: Float32Array;
  /** The template separator's token id (always a stop token). */
  sepTokenId: number;
  /** The template separator text: a stop string as in the reference's split(sep) and streamer loop. */
  sepText: string;
  options?: GenerationOptions;
  signal?: AbortSignal;
}

/** Yields one chunk per generated token; returns the summary (or throws GenerationAbortedError). */
export async function* generate(input: GenerateInput): AsyncGenerator<TokenChunk, GenerationOutput, void> {
  const { model, tokenizer, options: o = {}, signal } = input;
  const H = model.config.llm.hiddenSize;
  const promptTokens = input.embeds.length / H;
  if (!Number.isInteger(promptTokens) || promptTokens < 1) fail(`generate: prompt embeddings of length ${input.embeds.length} are not [S, ${H}]`);
  const maxNewTokens = o.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
  checkContextLength(promptTokens, maxNewTokens, model.config.llm.maxPositionEmbeddings);

  const eosTokenIds = [...new Set([input.sepTokenId, ...(o.eosTokenIds ?? [])])];
  const sampler = new Sampler({ ...o, minNewTokens: o.minNewTokens ?? 0, eosTokenIds });
  const stop = new StopController({ eosTokenIds, maxNewTokens, stopStrings: [...(o.stopStrings ?? []), input.sepText] });
  const decoder = tokenizer.createStreamDecoder({ skipSpecialTokens: true });
  const shown = new StrippedTextStream();
  // The cache needs room for the prompt and every generated token but the last (never fed back).
  const state = new DecodeState(model, promptTokens + maxNewTokens);

  const tokenIds: number[] = [];
  let streamedText = '';
  const aborted = () => new GenerationAbortedError(tokenIds.slice(), streamedText);
  if (signal?.aborted) throw aborted();

  const t0 = performance.now();
  let logits = await state.feed(input.embeds);
  const prefillMs = performance.now() - t0;
  for (;;) {
    if (signal?.aborted) throw aborted();
    const id = sampler.next(logits, tokenIds);
    tokenIds.push(id);
    let reason = stop.acceptToken(id);
    let text = '';
    // The stop token's own text is not part of the answer (the reference splits it off).
    if (reason !== 'eos') {
      const r = stop.acceptText(decoder.push(id));
      text += r.emit;
      if (r.stopped) reason = 'stop_string';
    }
    if (reason && reason !== 'stop_string') {
      const r = stop.acceptText(decoder.flush());
      text += r.emit;
      if (!r.stopped) text += stop.finish();
      else reason = 'stop_string';
    }
    text = shown.push(text);
    streamedText += text;
    yield { tokenId: id, text, index: tokenIds.length - 1 };
    if (reason) {
      shown.finish();
      return { tokenIds, streamedText, stopReason: reason, prefillMs, decodeMs: performance.now() - t0 - prefillMs };
    }
    if (signal?.aborted) throw aborted();
    logits = await state.step(id);
  }
}
