/**
 * Streams answer text so that the concatenated chunks equal the final, Python-stripped answer:
 * leading whitespace is dropped and trailing whitespace is held back until non-whitespace follows it
 * (the reference strips the answer; a streamed answer should not differ from the returned one).
 */

import { PY_SPACE } from '../prompt/index.ts';

const TRAILING_WS = new RegExp(`[${PY_SPACE}]+$`);
const LEADING_WS = new RegExp(`^[${PY_SPACE}]+`);

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

