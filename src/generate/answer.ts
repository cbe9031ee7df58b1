/**
 * One answer's token-by-token state, shared by generate() (one sequence) and the server's batch
 * scheduler (many sequences, one decoder call per step): given the next-token logits it chooses the
 * token (sampling.ts), applies the stop rules (stop.ts) and yields the UTF-8-correct, stripped text
 * delta that the streamed answer shows.
 */
import type { Tokenizer } from '../tokenizer/index.ts';
import { Sampler } from './sampling.ts';
import { StopController, type StopReason } from './stop.ts';
import { StrippedTextStream } from './text-stream.ts';
import type { GenerationOptions, TokenChunk } from './generate.ts';

export interface AnswerStep {
  chunk: TokenChunk;
  /** Why the answer ended with this token; null while it goes on. */
  stopReason: StopReason | null;
}

export class AnswerState {
  readonly tokenIds: number[] = [];
  streamedText = '';
  readonly maxNewTokens: number;
  private readonly sampler: Sampler;
  private readonly stop: StopController;
  private readonly decoder: ReturnType<Tokenizer['createStreamDecoder']>;
  private readonly shown = new StrippedTextStream();

  /** `o.maxNewTokens` is required here: callers resolve the default (and check the context) first. */
  constructor(tokenizer: Tokenizer, sepTokenId: number, sepText: string, o: GenerationOptions & { maxNewTokens: number }) {
    this.maxNewTokens = o.maxNewTokens;
    const eosTokenIds = [...new Set([sepTokenId, ...(o.eosTokenIds ?? [])])];
    this.sampler = new Sampler({ ...o, minNewTokens: o.minNewTokens ?? 0, eosTokenIds });
    this.stop = new StopController({ eosTokenIds, maxNewTokens: this.maxNewTokens, stopStrings: [...(o.stopStrings ?? []), sepText] });
    this.decoder = tokenizer.createStreamDecoder({ skipSpecialTokens: true });
  }

  /** Chooses the next token from `logits` (modified in place) and returns its chunk. */
  next(logits: Float32Array): AnswerStep {
    const id = this.sampler.next(logits, this.tokenIds);
    this.tokenIds.push(id);
    let reason = this.stop.acceptToken(id);
    let text = '';
    // The stop token's own text is not part of the answer (the reference splits it off).
    if (reason !== 'eos') {
      const r = this.stop.acceptText(this.decoder.push(id));
      text += r.emit;
      if (r.stopped) reason = 'stop_string';
    }
    if (reason && reason !== 'stop_string') {
      const r = this.stop.acceptText(this.decoder.flush());
      text += r.emit;
      if (!r.stopped) text += this.stop.finish();
      else reason = 'stop_string';
    }
    text = this.shown.push(text);
    if (reason) this.shown.finish();
    this.streamedText += text;
    return { chunk: { tokenId: id, text, index: this.tokenIds.length - 1 }, stopReason: reason };
  }
}
