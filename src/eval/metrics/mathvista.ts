/**
 * MathVista (evaluation.md §3): VLMEvalKit's prefetch / judge extraction / `post_check`, and the InternVL repo's
 * rule extraction with `normalize_extracted_answer` + `safe_equal`.
 */
import { pyFloat, pyInt, pyLower, pyRound, pySplit, pyStr, pyStrFloat, pyStrip } from '../python.ts';
import type { JudgeRequest } from '../judge.ts';
import { canInfer, type CanInferOptions, type Choices } from './can-infer.ts';
import { levenshtein } from './anls.ts';

export interface MathVistaItem {
  question: string;
  questionType: 'multi_choice' | 'free_form';
  answerType: 'integer' | 'float' | 'text' | 'list';
  answer: string;
  choices: string[];
  answerOption?: string;
  precision?: number | null;
}

/** `list_to_dict`: choices as options A, B, C, ... */
export function choicesDict(choices: readonly string[]): Choices {
  return Object.fromEntries(choices.map((c, i) => [String.fromCharCode(65 + i), c]));
}

/**
 * `post_check(line, prefetch)`: with `prefetch` the value extracted from the raw prediction (a letter for multiple
 * choice, the number when it already equals the answer) or false; without it, whether `res` is correct.
 * `freeForm` = quirk §11.3 fixed: text/list answers compare by normalised string instead of never matching.
 */
export function postCheck(item: MathVistaItem, response: string, prefetch: boolean, opts: { canInfer?: CanInferOptions; freeForm?: boolean } = {}): string | number | boolean {
  let res: string | number | false | null = null;
  let ans: string | number | null = item.answer;
  if (item.questionType === 'multi_choice') {
    ans = item.answerOption ?? null;
    res = canInfer(response, choicesDict(item.choices), opts.canInfer);
    if (prefetch) return res;
  } else if (item.answerType === 'integer') {
    res = pyInt(response);
    ans = pyInt(item.answer);
    if (res === null || ans === null) return false; // ValueError: res stays as it was (never equal)
  } else if (item.answerType === 'float') {
    res = pyFloat(response);
    ans = pyFloat(item.answer);
    if (res === null || ans === null) return false;
  } else if (opts.freeForm) {
    const n = (s: string) => pySplit(pyLower(pyStrip(s))).join(' ').replace(/\s*,\s*/g, ', ');
    return n(response) === n(item.answer) ? (prefetch ? response : true) : false;
  } else {
    res = 'None'; // the reference compares str(None) with str(answer)
    ans = pyStr(item.answer);
  }
  if (res === ans) return prefetch ? res : true;
  return false;
}

const DEMO =
  '\nPlease read the following example.\nThen extract the answer from the model response and type it at the end of the prompt.\n\n\n' +
  'Hint: Please answer the question requiring an integer answer and provide the final value,\ne.g., 1, 2, 3, at the end.\n\n' +
  'Question: Which number is missing?\n\nModel response: The number missing in the sequence is 14.\n\nExtracted answer: 14\n\n\n' +
  'Hint: Please answer the question requiring a floating-point number with one decimal place and provide the final value,\ne.g., 1.2, 1.3, 1.4, at the end.\n\n' +
  'Question: What is the fraction of females facing the camera?\n\nModel response: The fraction of females facing the camera is 0.6,\n' +
  'which means that six out of ten females in the group are facing the camera.\n\nExtracted answer: 0.6\n\n\n' +
  'Hint: Please answer the question requiring a floating-point number with two decimal places and provide the final value,\ne.g., 1.23, 1.34, 1.45, at the end.\n\n' +
  'Question: How much money does Luca need to buy a sour apple candy and a butter-scotch candy? (Unit: $)\n\n' +
  'Model response: Luca needs $1.45 to buy a sour apple candy and a butterscotch candy.\n\nExtracted answer: 1.45\n\n\n' +
  'Hint: Please answer the question requiring a Python list as an answer and provide the final list,\ne.g., [1, 2, 3], [1.2, 1.3, 1.4], at the end.\n\n' +
  'Question: Between which two years does the line graph saw its maximum peak?\n\n' +
  'Model response: The line graph saw its maximum peak between 2007 and 2008.\n\nExtracted answer: [2007, 2008]\n\n\n' +
  'Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.\n\n' +
  'Question: What fraction of the shape is blue?\n\nChoices: (A) 3/11 (B) 8/11 (C) 6/11 (D) 3/5\n\n' +
  'Model response: The correct answer is (B) 8/11.\n\nExtracted answer: B';

/** The 5-shot extraction prompt (judge-prompts.md §2), byte for byte ("respone", no space before "Extracted"). */
export function extractionPrompt(question: string, prediction: string): string {
  return `${DEMO}\n\n${question}\nModel respone: ${prediction}Extracted answer:`;
}

/** The reference's extraction judge (`gpt-4-turbo` → gpt-4-1106-preview, max_tokens 128); try i at i × 0.5. */
export const MATHVISTA_JUDGE_MODEL = 'gpt-4-1106-preview';
export function extractionRequest(question: string, prediction: string, attempt: number): JudgeRequest {
  return {
    model: MATHVISTA_JUDGE_MODEL,
    messages: [{ role: 'user', content: extractionPrompt(question, prediction) }],
    temperature: attempt * 0.5,
    maxTokens: 128,
  };
}

// ── InternVL repo protocol (§3.2) ────────────────────────────────────────────────────────────────────────

/** The rule part of InternVL's `extract_answer` (no judge): null when a judge would be asked. */
export function internvlRuleExtract(item: MathVistaItem, response: string, quick = false): string | null {
  if (response === '') return '';
  if (item.questionType === 'multi_choice' && item.choices.includes(response)) return response;
  if (item.answerType === 'integer') {
    const n = pyInt(response);
    if (n !== null) return String(n);
  }
  if (item.answerType === 'float') {
    const f = pyFloat(response);
    if (f !== null) return pyStrFloat(f);
  }
  if (quick) {
    const m = /(Final answer:|Answer:)\s*(.*)/i.exec(response);
    if (m) return m[2]!;
  }
  return null;
}

/** `normalize_extracted_answer`: a choice text (letter, "(X)", or the closest choice), or a canonical number string. */
export function normalizeExtracted(item: MathVistaItem, extraction: string): string | null {
  if (item.questionType === 'multi_choice') {
    let e = pyStrip(extraction);
    const letter = /\(([a-zA-Z])\)/.exec(e);
    if (letter) e = letter[1]!.toUpperCase();
    const letters = item.choices.map((_, i) => String.fromCharCode(65 + i));
    const i = letters.indexOf(e);
    if (i >= 0) return item.choices[i]!;
    const d = item.choices.map((c) => levenshtein(e, c));
    return item.choices[d.indexOf(Math.min(...d))] ?? null;
  }
  if (item.answerType === 'integer') {
    const f = pyFloat(extraction);
    return f === null || !Number.isFinite(f) ? null : BigInt(Math.trunc(f)).toString();
  }
  if (item.answerType === 'float') {
    const f = pyFloat(extraction);
    if (f === null || item.precision === null || item.precision === undefined || !Number.isInteger(item.precision)) return null;
    return pyStrFloat(pyRound(f, item.precision));
  }
  return extraction;
}
