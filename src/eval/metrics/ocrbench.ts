/** OCRBench (evaluation.md §7): substring match per category, the count of correct items 0–1000. */
import { pyLower, pyStrip } from '../python.ts';

export const OCRBENCH_GROUPS: Record<string, string> = {
  'Regular Text Recognition': 'Text Recognition',
  'Irregular Text Recognition': 'Text Recognition',
  'Artistic Text Recognition': 'Text Recognition',
  'Handwriting Recognition': 'Text Recognition',
  'Digit String Recognition': 'Text Recognition',
  'Non-Semantic Text Recognition': 'Text Recognition',
  'Scene Text-centric VQA': 'Scene Text-centric VQA',
  'Doc-oriented VQA': 'Doc-oriented VQA',
  'Key Information Extraction': 'Key Information Extraction',
  'Handwritten Mathematical Expression Recognition': 'Handwritten Mathematical Expression Recognition',
};

export const isHmer = (category: string): boolean => category === 'Handwritten Mathematical Expression Recognition';

/** One item: HMER compares with all spaces and newlines removed (case-sensitive), others lower-cased. */
export function ocrbenchCorrect(answers: readonly string[], pred: string, category: string): boolean {
  if (isHmer(category)) {
    const p = pyStrip(pred).replaceAll('\n', ' ').replaceAll(' ', '');
    return answers.some((a) => p.includes(pyStrip(a).replaceAll('\n', ' ').replaceAll(' ', '')));
  }
  const p = pyStrip(pyLower(pred)).replaceAll('\n', ' ');
  return answers.some((a) => p.includes(pyStrip(pyLower(a)).replaceAll('\n', ' ')));
}
