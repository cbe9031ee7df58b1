/**
 * Image classification as a multiple-choice question (adaptation.md §4.1): the candidate labels in a
 * fixed order between an instruction prefix and suffix, the ground truth verbatim as the answer; or the
 * lettered variant, where the options are lettered and the answer is the letter. Also the lettered
 * multiple-choice layout of the MCQ evaluation prompts (PMC-VQA, GMAI-MMBench style).
 */
import { fail } from '../../errors.ts';
import { convertRows, singleTurn } from './rows.ts';
import { readRows, text } from './source.ts';
import type { ConvertContext, ConvertOutcome, Converter } from './types.ts';

/** The remote-sensing wording of the paper. */
export const CLASSIFY_PREFIX = 'Classify the image within one of the given classes: ';
export const CLASSIFY_SUFFIX = '. Answer with one word or short phrase.';
export const LETTERED_PREFIX = 'Please select the correct answer from the following options: ';
export const MCQ_SUFFIX = "Answer with the option's letter from the given choices directly.";

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Human turn of the plain variant: `<image>\n` + prefix + labels joined by ", " + suffix. */
export function classificationQuestion(labels: readonly string[], prefix = CLASSIFY_PREFIX, suffix = CLASSIFY_SUFFIX): string {
  return `<image>\n${prefix}${labels.join(', ')}${suffix}`;
}

/** Human turn and answer of the lettered variant: "A. x B. y ..." and the letter of the truth. */
export function letteredClassification(labels: readonly string[], truth: string, prefix = LETTERED_PREFIX, suffix = ''): { question: string; answer: string } {
  if (labels.length > LETTERS.length) fail(`at most ${LETTERS.length} lettered options, got ${labels.length}`);
  const i = labels.indexOf(truth);
  if (i < 0) fail(`'${truth}' is not among the options`);
  return { question: `<image>\n${prefix}${labels.map((l, k) => `${LETTERS[k]}. ${l}`).join(' ')}${suffix}`, answer: LETTERS[i]! };
}

/** The MCQ evaluation layout: question, one "X. option" line each, then the letter instruction. */
export function mcqQuestion(question: string, options: ReadonlyArray<readonly [string, string]>, suffix = MCQ_SUFFIX): string {
  return `<image>\n${question}\n${options.map(([k, v]) => `${k}. ${v}`).join('\n')}\n${suffix}`;
}

export const classification: Converter = {
  describe: 'image classification table (CSV/TSV/JSON/JSONL with image and label columns) as multiple choice',
  async convert(ctx: ConvertContext): Promise<ConvertOutcome> {
    const rows = readRows(ctx.input);
    const imageField = ctx.flags.imageField ?? 'image';
    const labelField = ctx.flags.answerField ?? 'label';
    const imageOf = (row: Record<string, unknown>) => text(row, imageField) || text(row, 'file');
    let labels: string[];
    if (ctx.flags.labels !== undefined) {
      labels = ctx.flags.labels.split(',').map((s) => s.trim()).filter(Boolean);
      if (labels.length < 2) fail('--labels needs at least two labels');
    } else {
      labels = [...new Set(rows.flatMap((r) => ('row' in r && text(r.row, labelField) ? [text(r.row, labelField)] : [])))].sort();
    }
    const prefix = ctx.flags.prefix ?? (ctx.flags.lettered ? LETTERED_PREFIX : CLASSIFY_PREFIX);
    const suffix = ctx.flags.suffix ?? (ctx.flags.lettered ? '' : CLASSIFY_SUFFIX);
    return convertRows(rows, ctx, (row, { index }) => {
      const image = imageOf(row);
      const truth = text(row, labelField);
      if (!image) return { skip: 'no image path', detail: `column '${imageField}' is empty` };
      if (!truth) return { skip: 'empty answer', detail: `column '${labelField}' is empty` };
      if (!labels.includes(truth)) return { skip: 'label not among the candidate labels', detail: truth };
      const id = text(row, 'id') || index;
      if (ctx.flags.lettered) {
        const { question, answer } = letteredClassification(labels, truth, prefix, suffix);
        return { record: singleTurn(id, image, question, answer), sourceImages: [image] };
      }
      return { record: singleTurn(id, image, classificationQuestion(labels, prefix, suffix), truth), sourceImages: [image] };
    });
  },
};
