/**
 * VLMEvalKit's `can_infer` (evaluation.md §2.3): the rule that turns a free-text answer into an option letter,
 * used by MMBench (local), MMMU, MathVista (multiple choice) and GMAI-MMBench.
 */
import { pyLower, pySplit } from '../python.ts';

/** Option letter → option text, in letter order (A, B, C, ...). */
export type Choices = Record<string, string>;

/** The reference judge client's failure text (`BaseAPI.fail_msg`); a reply containing it is no answer. */
export const FAIL_MSG = 'Failed to obtain answer via API';

const REFUSALS = [
  "Sorry, I can't help with images of people yet.",
  "I can't process this file.",
  "I'm sorry, but without the image provided",
  'Cannot determine the answer',
];
const PUNCT = /[.()[\],:;!*#{}]/g;

export interface CanInferOptions {
  /** Quirk §11.4 fixed: with more than 3 tokens, a lone "A" is taken as the article (no letter). */
  articleA?: boolean;
}

/** Letter pass (`can_infer_option`): a letter, 'Z', or false. */
export function canInferOption(answer: string, choices: Choices, opts: CanInferOptions = {}): string | false {
  if (answer.includes(FAIL_MSG)) return false;
  for (const r of REFUSALS) if (answer.includes(r)) return 'Z';
  const tokens = pySplit(answer.replace(PUNCT, ' '));
  const letters = Object.keys(choices).filter((c) => tokens.includes(c));
  if (letters.length === 1) {
    if (opts.articleA && tokens.includes('A') && tokens.length > 3) return false;
    return letters[0]!;
  }
  if (letters.length === 0 && tokens.includes('Z')) return 'Z';
  return false;
}

/** Text pass (`can_infer_text`): the one option whose lower-cased text occurs in the lower-cased answer. */
export function canInferText(answer: string, choices: Choices): string | false {
  const a = pyLower(answer);
  const hits = Object.keys(choices).filter((k) => a.includes(pyLower(String(choices[k]))));
  return hits.length === 1 ? hits[0]! : false;
}

/** `can_infer(answer, choices)`: the letter pass, else the text pass. */
export function canInfer(answer: unknown, choices: Choices, opts: CanInferOptions = {}): string | false {
  const s = String(answer);
  return canInferOption(s, choices, opts) || canInferText(s, choices);
}
