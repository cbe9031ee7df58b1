/** Scorers of the multiple-choice benchmarks: MMBench (CircularEval / InternVL), MMMU, GMAI-MMBench. */
import { fail } from '../../errors.ts';
import { pyStr } from '../python.ts';
import { isFixed } from '../quirks.ts';
import * as F from '../items.ts';
import type { Choices } from '../metrics/can-infer.ts';
import { circularGroup, extractLetter, postProcess } from '../metrics/mcq.ts';
import { evalOpen, mmmuPreproc, parseOpenResponse } from '../metrics/mmmu.ts';
import { groupPct, mapLimit, mcqCtx, pct, type BenchSpec, type Ctx, type ItemResult, type Raw, type ScoreItem } from './types.ts';

function parseMmbench(where: string, raw: Raw): ScoreItem {
  const b = F.base(where, raw);
  const opts = F.options(where, raw, 'options');
  const answer = F.letter(where, raw, 'answer');
  if (!(answer in opts)) F.bad(where, 'answer', `one of the options ${Object.keys(opts).join(', ')}`, answer);
  return {
    ...raw,
    id: b.id,
    prediction: b.prediction,
    index: F.int(where, raw, 'index'),
    question: F.str(where, raw, 'question'),
    options: opts,
    answer,
    category: F.optStr(where, raw, 'category'),
    'l2-category': F.optStr(where, raw, 'l2-category'),
  };
}

export const mmbench: BenchSpec = {
  protocols: ['vlmevalkit', 'internvl'],
  judged: ['vlmevalkit'],
  fields: 'index (int; copies share index % 1000000), question, options, answer (letter), optional category, l2-category',
  parse: parseMmbench,
  async score(items, protocol, ctx) {
    // As mcq_circular_eval: a group per original question (index < 1e6), holding the rows with index % 1e6 == it.
    const groups = new Map<number, ScoreItem[]>();
    for (const it of items) if ((it.index as number) < 1_000_000) groups.set(it.index as number, []);
    items.forEach((it, i) => {
      const g = (it.index as number) % 1_000_000;
      const rows = groups.get(g);
      if (!rows) fail(`${ctx.where(i)}: index ${it.index} is a circular copy of question ${g}, which has no line`);
      rows.push(it);
    });
    const upper = isFixed(ctx.fix, 'post-process-case');
    const mains = [...groups].map(([g, rows]) => rows.find((r) => r.index === g)!);
    const out = await mapLimit([...groups], ctx.parallel, async ([g, rows]): Promise<ItemResult> => {
      if (protocol === 'internvl') {
        const letters = rows.map((r) => postProcess(r.prediction, r.options as Choices, { upperCase: upper }));
        return { id: g, correct: rows.every((r, i) => letters[i] === r.answer), extracted: letters.join(','), via: 'rule' };
      }
      const res = await circularGroup(
        rows.map((r) => ({ question: r.question as string, choices: r.options as Choices, prediction: r.prediction, gt: r.answer as string })),
        mcqCtx(ctx, g),
      );
      return { id: g, correct: res.hit, extracted: res.letters.map((l) => l || '?').join(','), via: res.via };
    });
    const hits = out.map((o) => o.correct!);
    const breakdown = { ...groupPct(mains, hits, 'l2-category'), ...groupPct(mains, hits, 'category') };
    return { score: pct(hits), items: out, breakdown };
  },
};

/** Vanilla (non-circular) MCQ with can_infer + judge: MMMU (after preproc) and GMAI-MMBench. */
async function vanillaMcq(it: ScoreItem, choices: Choices, gt: string, ctx: Ctx): Promise<ItemResult> {
  const got = await extractLetter(it.question as string, choices, it.prediction, mcqCtx(ctx, it.id));
  return { id: it.id, correct: got.letter === gt, extracted: got.letter, via: got.via };
}

export const mmmu: BenchSpec = {
  protocols: ['vlmevalkit', 'internvl'],
  judged: ['vlmevalkit'],
  fields: 'question, options ({} for open), answer (letter or the open answer), question_type (multiple-choice|open), optional split (dev|validation; the score counts the validation rows)',
  parse(where, raw) {
    const b = F.base(where, raw);
    const qt = F.oneOf(where, raw, 'question_type', ['multiple-choice', 'open'] as const);
    const answer = qt === 'open' && Array.isArray(raw.answer) ? F.strList(where, raw, 'answer') : F.strOrNum(where, raw, 'answer');
    return { ...raw, id: b.id, prediction: b.prediction, question: F.str(where, raw, 'question'), options: F.options(where, raw, 'options', true), answer, question_type: qt, split: F.optStr(where, raw, 'split') };
  },
  async score(items, protocol, ctx) {
    const upper = isFixed(ctx.fix, 'post-process-case');
    const out = await mapLimit(items, ctx.parallel, async (it): Promise<ItemResult> => {
      const opts = it.options as Choices;
      const answer = it.answer as string | string[];
      if (protocol === 'vlmevalkit') {
        const { choices, gt } = mmmuPreproc(opts, Array.isArray(answer) ? pyStr(answer) : answer);
        return vanillaMcq(it, choices, gt, ctx);
      }
      if (it.question_type === 'multiple-choice') {
        const p = postProcess(it.prediction, opts, { upperCase: upper });
        return { id: it.id, correct: p === answer, extracted: p, via: 'rule' };
      }
      const parsed = parseOpenResponse(it.prediction);
      return { id: it.id, correct: evalOpen(answer, parsed), extracted: JSON.stringify(parsed), via: 'rule' };
    });
    const hits = out.map((o) => o.correct!);
    // MMMU_DEV_VAL holds dev and validation rows; the published number is the validation split's accuracy.
    const breakdown = groupPct(items, hits, 'split');
    const score = breakdown['split:validation'] ?? pct(hits);
    return { score, items: out, breakdown };
  },
};

export const gmai: BenchSpec = {
  protocols: ['vlmevalkit'],
  judged: ['vlmevalkit'],
  fields: 'question, options, answer (letter), optional category, l2-category',
  parse(where, raw) {
    const b = F.base(where, raw);
    return { ...raw, id: b.id, prediction: b.prediction, question: F.str(where, raw, 'question'), options: F.options(where, raw, 'options'), answer: F.letter(where, raw, 'answer'), category: F.optStr(where, raw, 'category'), 'l2-category': F.optStr(where, raw, 'l2-category') };
  },
  async score(items, _p, ctx) {
    const out = await mapLimit(items, ctx.parallel, (it) => vanillaMcq(it, it.options as Choices, it.answer as string, ctx));
    const hits = out.map((o) => o.correct!);
    return { score: pct(hits), items: out, breakdown: { ...groupPct(items, hits, 'l2-category'), ...groupPct(items, hits, 'category') } };
  },
};
