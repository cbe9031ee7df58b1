/**
 * The published numbers a run is compared with: the Mini-InternVL table (evaluation.md §1.3; DocVQA and
 * InfoVQA there are test-server numbers) and the InternVL docs' numbers of the same checkpoints for the
 * splits scored locally (DocVQA/InfoVQA val; ChartQA human/augmented).
 */
export type PublishedModel = '1b' | '2b' | '4b';

export const PUBLISHED_TABLE: Record<PublishedModel | '76b', Record<string, number>> = {
  '1b': { mmmu: 36.7, mathvista: 37.7, ai2d: 64.1, chartqa: 72.9, docvqa: 81.7, infovqa: 50.9, ocrbench: 754, 'mmbench-en': 65.4, 'mmbench-cn': 60.7 },
  '2b': { mmmu: 36.3, mathvista: 46.3, ai2d: 74.1, chartqa: 76.2, docvqa: 86.9, infovqa: 58.9, ocrbench: 784, 'mmbench-en': 73.2, 'mmbench-cn': 70.9 },
  '4b': { mmmu: 48.3, mathvista: 58.6, ai2d: 78.9, chartqa: 81.5, docvqa: 89.2, infovqa: 67.0, ocrbench: 788, 'mmbench-en': 78.6, 'mmbench-cn': 73.9 },
  '76b': { mmmu: 58.2, mathvista: 65.5, ai2d: 87.6, chartqa: 88.4, docvqa: 94.1, infovqa: 82.0, ocrbench: 839, 'mmbench-en': 86.5, 'mmbench-cn': 86.3 },
};

/** The printed averages and "% of 76B" labels (4B prints 90 % where the computation gives 89.4 %). */
export const PUBLISHED_AVG: Record<PublishedModel, { avg: number; percentLabel: number }> = {
  '1b': { avg: 60.6, percentLabel: 74 },
  '2b': { avg: 66.8, percentLabel: 82 },
  '4b': { avg: 72.8, percentLabel: 90 },
};

/** InternVL docs: DocVQA / InfoVQA val, ChartQA per file — what a local run of those splits reproduces. */
export const PUBLISHED_VAL: Record<PublishedModel, Record<string, number>> = {
  '1b': { docvqa: 79.99, infovqa: 50.18, 'chartqa/human': 53.92, 'chartqa/augmented': 91.84 },
  '2b': { docvqa: 85.9, infovqa: 57.66, 'chartqa/human': 59.52, 'chartqa/augmented': 92.96 },
  '4b': { docvqa: 88.09, infovqa: 66.25, 'chartqa/human': 69.92, 'chartqa/augmented': 93.04 },
};

/** The table row a checkpoint's template points to (InternVL2-1B: Qwen2 / Hermes-2; 2B: InternLM2; 4B: Phi-3). */
export function publishedModelOf(template: string | null): PublishedModel | null {
  if (template === 'Hermes-2') return '1b';
  if (template === 'internlm2-chat') return '2b';
  if (template === 'phi3-chat') return '4b';
  return null;
}
