/**
 * Generic captioning / VQA / grounding / region captioning from a table the user describes with a few
 * flags: `--task caption|vqa|grounding|region`, `--image-field`, `--question-field`, `--answer-field`, `--box-field`,
 * `--prompt`. Grounding boxes are pixel xyxy of the image (its size from `width`/`height` columns or
 * the image header), normalised to 0..1000 with half-even rounding. `region` puts the box in the
 * question (adaptation.md §4.4 option b) and answers with the answer column.
 */
import { fail } from '../../errors.ts';
import { formatBox, normalizeBox } from '../format/boxes.ts';
import type { ChatRecord } from '../format/record.ts';
import { vqaRecord } from './medical.ts';
import { checkedBoxImageSize, groundingRecord } from './remote-sensing.ts';
import { convertRows, singleTurn, type RowResult } from './rows.ts';
import { readRows, text } from './source.ts';
import type { ConvertContext, ConvertOutcome, Converter } from './types.ts';

export const DEFAULT_CAPTION_PROMPT = 'Describe the image.';
/** The generic InternVL grounding question (adaptation.md §2.4). */
export const DEFAULT_GROUNDING_PROMPT = 'Please provide the bounding box coordinate of the region this sentence describes: <ref>{expr}</ref>';

export const DEFAULT_REGION_PROMPT = 'Describe the region {box}.';

/** Region perception with the box in the question (pure): `{box}` in the prompt becomes `<box>[[...]]</box>`. */
export function regionRecord(id: string | number, image: string, pixelBox: readonly number[], width: number, height: number, answer: string, prompt = DEFAULT_REGION_PROMPT): ChatRecord {
  const box = formatBox([normalizeBox(pixelBox, width, height)]);
  return { id, image, width, height, conversations: [{ from: 'human', value: `<image>\n${prompt.split('{box}').join(box)}` }, { from: 'gpt', value: answer }] };
}

/** A box column: a JSON list, a "[x1, y1, x2, y2]" string, or "x1,y1,x2,y2". */
export function readBox(v: unknown): number[] | null {
  if (Array.isArray(v)) return v.map(Number);
  if (typeof v !== 'string' || v.trim() === '') return null;
  const s = v.trim();
  try {
    const parsed = JSON.parse(s.startsWith('[') ? s : `[${s}]`);
    return Array.isArray(parsed) ? parsed.map(Number) : null;
  } catch {
    return null;
  }
}

export const generic: Converter = {
  describe: 'any CSV/TSV/JSON/JSONL table: --task caption|vqa|grounding|region with --image-field/--question-field/--answer-field/--box-field',
  async convert(ctx: ConvertContext): Promise<ConvertOutcome> {
    const task = ctx.flags.task ?? fail('generic: --task caption|vqa|grounding|region is required');
    if (!['caption', 'vqa', 'grounding', 'region'].includes(task)) fail(`--task must be caption, vqa, grounding or region, got '${task}'`);
    const f = {
      image: ctx.flags.imageField ?? 'image',
      question: ctx.flags.questionField ?? (task === 'grounding' ? 'expression' : 'question'),
      answer: ctx.flags.answerField ?? (task === 'caption' ? 'caption' : 'answer'),
      box: ctx.flags.boxField ?? 'bbox',
    };
    return convertRows(readRows(ctx.input), ctx, async (row, { index, images }): Promise<RowResult> => {
      const id = text(row, 'id') || index;
      const image = text(row, f.image);
      if (!image) return { skip: 'no image path', detail: `column '${f.image}' is empty` };
      if (task === 'caption') {
        const caption = text(row, f.answer);
        if (!caption) return { skip: 'empty answer', detail: `column '${f.answer}' is empty` };
        return { record: singleTurn(id, image, `<image>\n${ctx.flags.prompt ?? DEFAULT_CAPTION_PROMPT}`, caption), sourceImages: [image] };
      }
      if (task === 'vqa') return vqaRecord(id, image, text(row, f.question), text(row, f.answer), ctx.flags.suffixVqa ?? false);
      const expr = text(row, f.question);
      if (task === 'grounding' && !expr) return { skip: 'empty referring expression', detail: `column '${f.question}' is empty` };
      const box = readBox(row[f.box]);
      if (!box) return { skip: 'no box', detail: `column '${f.box}' holds no [x1, y1, x2, y2]` };
      const size = await checkedBoxImageSize(row, image, box, images);
      if ('skip' in size) return size;
      const { width, height } = size;
      if (task === 'region') {
        const answer = text(row, f.answer);
        if (!answer) return { skip: 'empty answer', detail: `column '${f.answer}' is empty` };
        return { record: regionRecord(id, image, box, width, height, answer, ctx.flags.prompt ?? DEFAULT_REGION_PROMPT), sourceImages: [image] };
      }
      const question = (ctx.flags.prompt ?? DEFAULT_GROUNDING_PROMPT).split('{expr}').join(expr);
      return { record: groundingRecord(id, image, expr, box, width, height, question), sourceImages: [image] };
    });
  },
};
