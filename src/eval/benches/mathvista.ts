/** MathVista: VLMEvalKit's prefetch + judge extraction + post_check, or InternVL's extraction + normalisation. */
import { isFixed } from '../quirks.ts';
import * as F from '../items.ts';
import { FAIL_MSG } from '../metrics/can-infer.ts';
import { extractionRequest, internvlRuleExtract, normalizeExtracted, postCheck, type MathVistaItem } from '../metrics/mathvista.ts';
import { groupPct, mapLimit, pct, type BenchSpec, type ItemResult, type Raw, type ScoreItem, type Via } from './types.ts';

function parseMathVista(where: string, raw: Raw): ScoreItem {
  const b = F.base(where, raw);
  const qt = F.oneOf(where, raw, 'question_type', ['multi_choice', 'free_form'] as const);
  let choices: string[] = [];
  if (raw.choices !== null && raw.choices !== undefined && !(typeof raw.choices === 'string' && /^\s*(nan|None)?\s*$/.test(raw.choices))) {
    choices = F.strList(where, raw, 'choices', 'strict');
  }
  if (qt === 'multi_choice' && choices.length === 0) F.bad(where, 'choices', 'a non-empty list for a multiple-choice question', raw.choices);
  const precision = raw.precision;
  if (precision !== undefined && precision !== null && !(typeof precision === 'number' && Number.isFinite(precision))) F.bad(where, 'precision', 'a number or null', precision);
  return {
    ...raw,
    id: b.id,
    prediction: b.prediction,
    question: F.str(where, raw, 'question'),
    question_type: qt,
    answer_type: F.oneOf(where, raw, 'answer_type', ['integer', 'float', 'text', 'list'] as const),
    answer: F.strOrNum(where, raw, 'answer'),
    choices,
    answer_option: qt === 'multi_choice' ? F.letter(where, raw, 'answer_option') : F.optStr(where, raw, 'answer_option'),
    precision: typeof precision === 'number' ? precision : null,
    extraction: raw.extraction === undefined || raw.extraction === null ? undefined : F.strOrNum(where, raw, 'extraction'),
  };
}

const toMv = (it: ScoreItem): MathVistaItem => ({
  question: it.question as string,
  questionType: it.question_type as MathVistaItem['questionType'],
  answerType: it.answer_type as MathVistaItem['answerType'],
  answer: it.answer as string,
  choices: it.choices as string[],
  answerOption: it.answer_option as string | undefined,
  precision: it.precision as number | null,
});

export const mathvista: BenchSpec = {
  protocols: ['vlmevalkit', 'internvl'],
  judged: ['vlmevalkit', 'internvl'],
  fields: 'question, question_type, answer_type, answer, choices, answer_option, precision, optional extraction',
  parse: parseMathVista,
  async score(items, protocol, ctx) {
    const ci = { articleA: isFixed(ctx.fix, 'can-infer-article') };
    const freeForm = isFixed(ctx.fix, 'mathvista-free-form');
    const extract = async (it: ScoreItem, mv: MathVistaItem): Promise<[string, Via]> => {
      if (typeof it.extraction === 'string') return [it.extraction, 'judge'];
      if (protocol === 'vlmevalkit') {
        const pre = postCheck(mv, it.prediction, true, { canInfer: ci, freeForm });
        if (pre) return [String(pre), 'rule']; // "Prefetch succeed" (a prefetched 0 is falsy: the judge is asked)
        if (!ctx.judge) return ['', 'none'];
        for (let t = 0; t < 5; t++) {
          const reply = await ctx.judge.ask(extractionRequest(mv.question, it.prediction, t));
          if (!reply.includes(FAIL_MSG)) return [reply, 'judge'];
        }
        return ['', 'judge'];
      }
      const rule = internvlRuleExtract(mv, it.prediction);
      if (rule !== null) return [rule, 'rule'];
      if (!ctx.judge) return ['', 'none'];
      // InternVL asks GPT-4-0613 with the same 5-shot extraction prompt, once, at temperature 0.
      const reply = await ctx.judge.ask({ ...extractionRequest(mv.question, it.prediction, 0), model: 'gpt-4-0613' });
      return [reply.includes(FAIL_MSG) ? '' : reply, 'judge'];
    };
    const out = await mapLimit(items, ctx.parallel, async (it): Promise<ItemResult> => {
      const mv = toMv(it);
      const [res, via] = await extract(it, mv);
      const norm = protocol === 'internvl' ? normalizeExtracted(mv, res) : null;
      const correct = protocol === 'vlmevalkit' ? postCheck(mv, res, false, { canInfer: ci, freeForm }) === true : norm !== null && norm === mv.answer;
      return { id: it.id, correct, extracted: res, via };
    });
    const hits = out.map((o) => o.correct!);
    return { score: pct(hits), items: out, breakdown: { ...groupPct(items, hits, 'question_type'), ...groupPct(items, hits, 'answer_type') } };
  },
};
