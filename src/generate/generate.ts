/**
 * Autoregressive decoding: one prefill over the prompt embeddings, then one token per step with the
 * engine's DecodeState (its KVCache appends each step's new keys/values and feeds the past as zero-copy
 * views — the cache is never copied per token). Token choice (sampling.ts), stop rules (stop.ts) and
 * incremental UTF-8-correct text (the tokenizer's stream decoder) are composed here; cancellation is an
 * AbortSignal checked before every model call.
 */
import { fail } from '../errors.ts';
import { DecodeState } from '../runtime/decode.ts';
import { GpuKVDecoder } from '../runtime/gpu-kv-decoder.ts';
import type { Model } from '../runtime/model.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import type { SamplingOptions } from './sampling.ts';
import type { StopReason } from './stop.ts';
import { AnswerState } from './answer.ts';

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

  const answer = new AnswerState(tokenizer, input.sepTokenId, input.sepText, { ...o, maxNewTokens });
  // The cache needs room for the prompt and every generated token but the last (never fed back).
  // On WebGPU it stays in GPU memory between steps (runtime/gpu-kv-decoder.ts); freed when the answer ends.
  const state = model.gpuCache ? new GpuKVDecoder(model) : new DecodeState(model, promptTokens + maxNewTokens);

  const aborted = () => new GenerationAbortedError(answer.tokenIds.slice(), answer.streamedText);
  if (signal?.aborted) throw aborted();

  try {
    const t0 = performance.now();
    let logits = await state.feed(input.embeds);
    const prefillMs = performance.now() - t0;
    for (;;) {
      if (signal?.aborted) throw aborted();
      const { chunk, stopReason } = answer.next(logits);
      yield chunk;
      if (stopReason) {
        const { tokenIds, streamedText } = answer;
        return { tokenIds, streamedText, stopReason, prefillMs, decodeMs: performance.now() - t0 - prefillMs };
      }
      if (signal?.aborted) throw aborted();
      logits = await state.step(chunk.tokenId);
    }
  } finally {
    if (state instanceof GpuKVDecoder) state.release();
  }
}
