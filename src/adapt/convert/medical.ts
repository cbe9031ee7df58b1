/**
 * Medical VQA sources (adaptation.md §4.7) as released:
 * - VQA-RAD `VQA_RAD Dataset Public.json`: [{image_name, question, answer, answer_type, qid, ...}]
 *   (answers may be JSON numbers);
 * - SLAKE `train.json` / `validate.json` / `test.json`: [{img_name: "xmlab102/source.jpg", question,
 *   answer, q_lang: "en"|"zh", answer_type, qid, ...}] with images under `imgs/`;
 * - PMC-VQA `train.csv` / `test.csv`: Figure_path, Question, Answer, Choice A..D, Answer_label (choices
 *   written "A:Liver"; the spec's form with a letter in Answer is read too);
 * - GMAI-MMBench-style multiple choice tables: question, A, B, ..., answer (letter), image_path.
 * Closed and open questions become direct VQA; multiple choice uses the MCQ evaluation layout.
 */
import { convertRows, singleTurn, vqaQuestion } from './rows.ts';
import { mcqQuestion } from './classification.ts';
import { readRows, text } from './source.ts';
import type { ConvertContext, ConvertOutcome, Converter } from './types.ts';
import type { RowResult } from './rows.ts';

/** A direct VQA row → record (shared by VQA-RAD, SLAKE, RSVQA, generic vqa). */
export function vqaRecord(id: string | number, image: string, question: string, answer: string, suffix: boolean): RowResult {
  if (!image) return { skip: 'no image path' };
  if (!question) return { skip: 'empty question' };
  if (!answer) return { skip: 'empty answer' };
  return { record: singleTurn(id, image, vqaQuestion(question, suffix), answer), sourceImages: [image] };
}

export const vqaRad: Converter = {
  describe: 'VQA-RAD "VQA_RAD Dataset Public.json" (--images: the image folder)',
  async convert(ctx: ConvertContext): Promise<ConvertOutcome> {
    return convertRows(readRows(ctx.input), ctx, (row, { index }) =>
      vqaRecord(text(row, 'qid') || index, text(row, 'image_name'), text(row, 'question'), text(row, 'answer'), ctx.flags.suffixVqa ?? false));
  },
};

export const slake: Converter = {
  describe: 'SLAKE train/validate/test.json (--images: the imgs folder; --lang en|zh)',
  async convert(ctx: ConvertContext): Promise<ConvertOutcome> {
    const lang = ctx.flags.lang;
    return convertRows(readRows(ctx.input), ctx, (row, { index }) => {
      if (lang !== undefined && text(row, 'q_lang') !== lang) return { skip: 'other language', detail: `q_lang ${text(row, 'q_lang') || '(none)'}` };
      return vqaRecord(text(row, 'qid') || index, text(row, 'img_name'), text(row, 'question'), text(row, 'answer'), ctx.flags.suffixVqa ?? false);
    });
  },
};

/** "A:Liver" / "A: Liver" / "Liver" → "Liver". */
export function stripOptionLetter(s: string, letter: string): string {
  const m = new RegExp(`^\\s*${letter}\\s*[:.)]\\s*`).exec(s);
  return (m ? s.slice(m[0].length) : s).trim();
}

/** Multiple-choice row → record: options from the given columns, answer as a letter (or matched by text). */
export function mcqRecord(id: string | number, image: string, question: string, options: Array<[string, string]>, answer: string, answerText = ''): RowResult {
  if (!image) return { skip: 'no image path' };
  if (!question) return { skip: 'empty question' };
  const opts = options.filter(([, v]) => v !== '');
  if (opts.length < 2) return { skip: 'fewer than two options' };
  let letter = answer.trim().replace(/[:.)]$/, '');
  if (!opts.some(([k]) => k === letter)) {
    const byText = opts.find(([, v]) => v === (answerText || answer).trim());
    if (!byText) return { skip: answer || answerText ? 'answer not among the options' : 'empty answer', detail: answer || answerText };
    letter = byText[0];
  }
  return { record: singleTurn(id, image, mcqQuestion(question, opts), letter), sourceImages: [image] };
}

export const pmcVqa: Converter = {
  describe: 'PMC-VQA train/test.csv (Figure_path, Question, Choice A..D, Answer_label) as multiple choice',
  async convert(ctx: ConvertContext): Promise<ConvertOutcome> {
    return convertRows(readRows(ctx.input), ctx, (row, { index }) => {
      const options = (['A', 'B', 'C', 'D'] as const).map((k) => [k, stripOptionLetter(text(row, `Choice ${k}`), k)] as [string, string]);
      const label = text(row, 'Answer_label') || text(row, 'Answer');
      return mcqRecord(text(row, 'index') || index, text(row, 'Figure_path'), text(row, 'Question'), options, label, text(row, 'Answer'));
    });
  },
};

export const gmaiMcq: Converter = {
  describe: 'GMAI-MMBench-style multiple choice table (question, A, B, ..., answer, image_path)',
  async convert(ctx: ConvertContext): Promise<ConvertOutcome> {
    return convertRows(readRows(ctx.input), ctx, (row, { index }) => {
      const options = 'ABCDEFGH'.split('').map((k) => [k, text(row, k)] as [string, string]);
      return mcqRecord(text(row, 'index') || index, text(row, 'image_path') || text(row, 'image'), text(row, 'question'), options, text(row, 'answer'));
    });
  },
};
