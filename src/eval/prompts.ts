/**
 * The question text each toolkit builds for an item (evaluation.md §1.2 and the benchmark sections),
 * byte for byte, including the `<image>` placeholders the reference puts in front.
 */
import { IMAGE_PLACEHOLDER } from '../prompt/index.ts';

export const SHORT_ANSWER = 'Answer the question using a single word or phrase.';
const MCQ_EN = "Answer with the option's letter from the given choices directly.";
const MCQ_CN = '请直接回答选项字母。';
const OPEN_EN = 'Answer the question directly.';
const OPEN_CN = '请直接回答问题。';

/** VLMEvalKit `cn_string`: any CJK unified ideograph. */
export function hasChinese(s: string): boolean {
  return /[\u4e00-\u9fff]/.test(s);
}

/** `hint\n` (when present) + question + `\nL. option` for each option, as both toolkits write it. */
function questionWithOptions(question: string, options: Record<string, string>, hint: string | null): string {
  let q = hint !== null ? `${hint}\n${question}` : question;
  for (const [letter, text] of Object.entries(options)) q += `\n${letter}. ${text}`;
  return q;
}

/** VLMEvalKit `InternVLChat.build_multi_choice_prompt` (MCQ datasets). */
export function vlmevalkitMcqPrompt(question: string, options: Record<string, string>, hint: string | null): string {
  const prompt = questionWithOptions(question, options, hint);
  const hasOptions = Object.keys(options).length > 0;
  if (hasChinese(prompt)) return prompt + (hasOptions ? `\n${MCQ_CN}` : `\n${OPEN_CN}`);
  return prompt + (hasOptions ? `\n${MCQ_EN}` : `\n${OPEN_EN}`);
}

/** VLMEvalKit VQA datasets: the short-answer suffix on its own line, except the math sets (question only). */
export function vlmevalkitVqaPrompt(question: string, suffix: boolean): string {
  return suffix ? `${question}\n${SHORT_ANSWER}` : question;
}

/** InternVL repo `evaluate_mmbench.py`: the dataset's language picks the suffix, not the text. */
export function internvlMmbenchPrompt(question: string, options: Record<string, string>, hint: string | null, lang: 'en' | 'cn'): string {
  return `${questionWithOptions(question, options, hint)}\n${lang === 'cn' ? MCQ_CN : MCQ_EN}`;
}

/** InternVL repo `evaluate_vqa.py`: `question + ' ' + prompt` unless the prompt is empty (AI2D). */
export function internvlVqaPrompt(question: string, suffix: string): string {
  return suffix.length !== 0 ? `${question} ${suffix}` : question;
}

/**
 * VLMEvalKit `reorganize_prompt`: one image → `<image>\n` + text; several → one `Image-k: <image>` line per
 * image, then the text followed by the `<Image-k>` markers (images come after the text in its messages).
 */
export function vlmevalkitWithImages(text: string, imageCount: number): string {
  if (imageCount === 0) return text;
  if (imageCount === 1) return `${IMAGE_PLACEHOLDER}\n${text}`;
  const header = Array.from({ length: imageCount }, (_, i) => `Image-${i + 1}: ${IMAGE_PLACEHOLDER}`).join('\n');
  const markers = Array.from({ length: imageCount }, (_, i) => `<Image-${i + 1}>`).join('');
  return `${header}\n${text}${markers}`;
}

/** InternVL repo scripts: chat() prefixes `<image>\n` when the question has none (all tiles under it). */
export function internvlWithImage(text: string, imageCount: number): string {
  return imageCount === 0 || text.includes(IMAGE_PLACEHOLDER) ? text : `${IMAGE_PLACEHOLDER}\n${text}`;
}

/** MME-RealWorld (reference `eval/mme_rw`, language en): note the Chinese options header and the 13 spaces. */
export function mmeRealWorldPrompt(text: string, choices: readonly string[]): string {
  const pEn =
    'Select the best answer to the above multiple-choice question based on the image.' +
    ' '.repeat(13) +
    'Respond with only the letter (A, B, C, D, or E) of the correct option. \nThe best answer is:';
  return `${text}选项如下所示:\n${choices.join('\n')}\n${pEn}`;
}
