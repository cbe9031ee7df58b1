/**
 * When generation ends, and what text the user sees: eos ids (the reference chat() stops only on
 * id(template.sep.strip()), prompting.md §5), max new tokens, and stop strings on the decoded text —
 * with the text before the stop string returned and a possible partial match held back while streaming.
 */
import { fail } from '../errors.ts';
import { pyStrip } from '../prompt/index.ts';
import { partialMatchLength } from '../tokenizer/text.ts';

export type StopReason = 'eos' | 'length' | 'stop_string';

/** `number | number[] | undefined` → a de-duplicated id list; rejects non-integer ids. */
export function normalizeEosIds(eos: number | readonly number[] | null | undefined): number[] {
  if (eos === undefined || eos === null) return [];
  const list = typeof eos === 'number' ? [eos] : [...eos];
  for (const id of list) if (!Number.isInteger(id) || id < 0) fail(`stop rules: eos token id must be an integer ≥ 0, got ${id}`);
  return [...new Set(list)];
}

/**
 * The reference's eos id: `tokenizer.convert_tokens_to_ids(template.sep.strip())`. `tokenToId` is the
 * tokenizer's lookup of a whole token string (added or vocab token); it must know the separator.
 */
export function templateEosId(sep: string, tokenToId: (token: string) => number | undefined | null): number {
  const token = pyStrip(sep);
  const id = tokenToId(token);
  if (id === undefined || id === null || id < 0) fail(`stop rules: the template separator ${JSON.stringify(token)} is not a token of this tokenizer`);
  return id;
}

/** The earliest occurrence of any stop string in `text` at or after `from` (ties → the longest string). */
export function findStopString(text: string, stops: readonly string[], from = 0): { index: number; stop: string } | null {
  let best: { index: number; stop: string } | null = null;
  for (const s of stops) {
    if (s === '') continue;
    const i = text.indexOf(s, from);
    if (i >= 0 && (best === null || i < best.index || (i === best.index && s.length > best.stop.length))) best = { index: i, stop: s };
  }
  return best;
}

export interface StopOptions {
  /** Stop when one of these ids is generated (it counts toward maxNewTokens; its text is not shown). */
  eosTokenIds?: number | readonly number[];
  /** Hard cap on generated tokens (HF max_new_tokens). Required, ≥ 1. */
  maxNewTokens: number;
  /** Stop when the decoded text contains one of these; the text before it is the answer. */
  stopStrings?: readonly string[];
}

/**
 * One generation's stop state. Per step: `acceptToken(id)` (token rules), then feed the newly decoded
 * text to `acceptText(delta)` and show its `emit`; at the end call `finish()` for the held-back tail.
 * `text` is everything emitted so far — the answer without any stop string.
 */
export class StopController {
  readonly eosTokenIds: readonly number[];
  readonly maxNewTokens: number;
  readonly stopStrings: readonly string[];
  /** Why generation stopped; null while it runs. */
  reason: StopReason | null = null;
  /** Tokens accepted so far (the eos token included). */
  tokenCount = 0;
  private buffer = '';
  private emitted = 0;
  /** Length of the longest stop string (bounds where a new match can start). */
  private readonly longest: number;

  constructor(opts: StopOptions) {
    this.eosTokenIds = normalizeEosIds(opts.eosTokenIds);
    if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 1) {
      fail(`stop rules: max new tokens must be an integer ≥ 1, got ${opts.maxNewTokens}`);
    }
    this.maxNewTokens = opts.maxNewTokens;
    this.stopStrings = (opts.stopStrings ?? []).filter((s) => s !== '');
    this.longest = this.stopStrings.reduce((m, s) => Math.max(m, s.length), 0);
  }

  get stopped(): boolean {
    return this.reason !== null;
  }

  /** The text emitted so far. */
  get text(): string {
    return this.buffer.slice(0, this.emitted);
  }

  /** Registers a generated token; returns the stop reason it causes (eos first, then the length cap), or null. */
  acceptToken(id: number): StopReason | null {
    if (this.reason) return this.reason;
    this.tokenCount++;
    if (this.eosTokenIds.includes(id)) this.reason = 'eos';
    else if (this.tokenCount >= this.maxNewTokens) this.reason = 'length';
    return this.reason;
  }

  /**
   * Adds decoded text. Returns the part that is safe to show now: everything except a suffix that may
   * still grow into a stop string; on a stop-string match, the text before it and `stopped: true`.
   * Text arriving after a stop-string match is ignored.
   */
  acceptText(delta: string): { emit: string; stopped: boolean } {
    if (this.reason === 'stop_string') return { emit: '', stopped: true };
    this.buffer += delta;
    // A new match must end inside the new text, so it starts at most longest-1 chars before it;
    // it also cannot start before `emitted` (held-back invariant).
    const from = Math.max(this.emitted, this.buffer.length - delta.length - this.longest + 1, 0);
    const hit = findStopString(this.buffer, this.stopStrings, from);
    if (hit) {
      const emit = this.buffer.slice(this.emitted, hit.index);
      this.buffer = this.buffer.slice(0, hit.index);
      this.emitted = hit.index;
      this.reason = 'stop_string';
      return { emit, stopped: true };
    }
    const hold = partialMatchLength(this.buffer, this.stopStrings, this.emitted);
    const upto = this.buffer.length - hold;
    const emit = this.buffer.slice(this.emitted, upto);
    this.emitted = upto;
    return { emit, stopped: false };
  }

  /** Generation ended (eos or length): releases the held-back tail (it never became a stop string). */
  finish(): string {
    if (this.reason === 'stop_string') return '';
    const emit = this.buffer.slice(this.emitted);
    this.emitted = this.buffer.length;
    return emit;
  }
}
