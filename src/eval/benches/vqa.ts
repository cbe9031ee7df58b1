/** Scorers of the open-answer benchmarks: AI2D (exact match), ChartQA (relaxed), DocVQA/InfoVQA (ANLS), OCRBench. */
import { isFixed } from '../quirks.ts';
import * as F from '../items.ts';
import { anls } from '../metrics/anls.ts';
import { chartqaScore } from '../metrics/relaxed.ts';
import { exactMatch } from '../metrics/exact.ts';
import { OCRBENCH_GROUPS, ocrbenchCorrect } from '../metrics/ocrbench.ts';
import { mean, withAnswerList, type BenchSpec } from './types.ts';

export const ai2d: BenchSpec = {
  protocols: ['internvl'],
  judged: [],
  fields: 'answer (string or list)',
  parse: (where, raw) => withAnswerList(where, raw, F.base(where, raw)),
  async score(items) {
    const out = items.map((it) => ({ id: it.id, score: exactMatch(it.answer as string[], it.prediction) }));
    return { score: 100 * mean(out.map((o) => o.score)), items: out };
  },
};

export const chartqa: BenchSpec = {
  protocols: ['internvl', 'vlmevalkit'],
  judged: [],
  fields: 'answer (string or list), optional split (human|augmented)',
  parse: (where, raw) => ({ ...withAnswerList(where, raw, F.base(where, raw), 'lenient'), split: F.optStr(where, raw, 'split') }),
  async score(items, _p, ctx) {
    const textbook = isFixed(ctx.fix, 'chartqa-relaxed');
    const out = items.map((it) => ({ id: it.id, score: chartqaScore(it.answer as string[], it.prediction, textbook) }));
    // The reported number is the mean of the per-split accuracies (test_human, test_augmented).
    const splits = new Map<string, number[]>();
    items.forEach((it, i) => typeof it.split === 'string' && splits.set(it.split, [...(splits.get(it.split) ?? []), out[i]!.score]));
    const breakdown = Object.fromEntries([...splits].map(([k, v]) => [`split:${k}`, 100 * mean(v)]));
    const all = splits.size > 0 && [...splits.values()].reduce((n, v) => n + v.length, 0) === items.length;
    return { score: all ? mean(Object.values(breakdown)) : 100 * mean(out.map((o) => o.score)), items: out, breakdown };
  },
};

export const anlsBench: BenchSpec = {
  protocols: ['internvl', 'vlmevalkit'],
  judged: [],
  fields: 'answer (list of strings; a string = one)',
  parse: (where, raw) => withAnswerList(where, raw, F.base(where, raw), 'lenient'),
  async score(items, _p, ctx) {
    const textbook = isFixed(ctx.fix, 'anls-threshold');
    const out = items.map((it) => ({ id: it.id, score: anls(it.answer as string[], it.prediction, textbook) }));
    return { score: 100 * mean(out.map((o) => o.score)), items: out };
  },
};

export const ocrbench: BenchSpec = {
  protocols: ['vlmevalkit'],
  judged: [],
  fields: 'answer (list of strings), category',
  parse: (where, raw) => ({ ...withAnswerList(where, raw, F.base(where, raw), 'strict'), category: F.oneOf(where, raw, 'category', F.OCRBENCH_CATEGORIES) }),
  async score(items) {
    const out = items.map((it) => ({ id: it.id, correct: ocrbenchCorrect(it.answer as string[], it.prediction, it.category as string) }));
    const breakdown: Record<string, number> = {};
    items.forEach((it, i) => {
      const cat = it.category as string;
      const group = OCRBENCH_GROUPS[cat]!;
      breakdown[`category:${cat}`] = (breakdown[`category:${cat}`] ?? 0) + (out[i]!.correct ? 1 : 0);
      breakdown[group] = (breakdown[group] ?? 0) + (out[i]!.correct ? 1 : 0);
    });
    return { score: out.filter((o) => o.correct).length, items: out, breakdown };
  },
};
