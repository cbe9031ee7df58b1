/**
 * Streams answer text so that the concatenated chunks equal the final, Python-stripped answer:
 * leading whitespace is dropped and trailing whitespace is held back until non-whitespace follows it
 * (the reference strips the answer; a streamed answer should not differ from the returned one).
 */

/** Python's str.isspace() set (what str.strip() removes). */
const PY_WS = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const TRAILING_WS = new RegExp(`[${PY_WS}]+$`);
const LEADING_WS = new RegExp(`^[${PY_WS}]+`);

export class StrippedTextStream {
  private started = false;
  private held = '';

  /** Adds text; returns what can be shown now. */
  push(text: string): string {
    if (text === '') return '';
    let t = text;
    if (!this.started) {
      t = t.replace(LEADING_WS, '');
      if (t === '') return '';
      this.started = true;
    }
    t = this.held + t;
    const m = TRAILING_WS.exec(t);
    this.held = m ? m[0] : '';
    return m ? t.slice(0, m.index) : t;
  }

  /** End of the answer: held-back trailing whitespace is dropped. */
  finish(): string {
    this.held = '';
    return '';
  }
}

