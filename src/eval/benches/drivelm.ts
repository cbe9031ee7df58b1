/** DriveLM-nuScenes: post-processing, graph gating, accuracy, match, ChatGPT ratings, language and final score. */
import { pyFloat } from '../python.ts';
import { isFixed } from '../quirks.ts';
import * as F from '../items.ts';
import { bleu, ciderD, cocoTokenize, rougeLCorpus } from '../metrics/coco-caption.ts';
import { drivelmFinal, drivelmInGraph, drivelmLanguage, drivelmMatch, drivelmPostprocess, drivelmRatingRequest } from '../metrics/drivelm.ts';
import { mean, type BenchSpec, type ItemResult } from './types.ts';

export const drivelm: BenchSpec = {
  protocols: ['internvl'],
  judged: ['internvl'],
  fields: 'question, answer (GT), tag (0 accuracy, 1 ChatGPT, 2 language, 3 match; int or list), optional frame (key frame id, for graph gating)',
  parse(where, raw) {
    const b = F.base(where, raw);
    const tag = raw.tag;
    const tags = typeof tag === 'number' ? [tag] : tag;
    if (!Array.isArray(tags) || !tags.every((t) => t === 0 || t === 1 || t === 2 || t === 3)) F.bad(where, 'tag', 'a tag 0-3 or a list of them', tag);
    return { ...raw, id: b.id, prediction: b.prediction, question: F.str(where, raw, 'question'), answer: F.str(where, raw, 'answer'), tag: tags, frame: F.optStr(where, raw, 'frame') };
  },
  async score(items, _p, ctx) {
    const fixNums = isFixed(ctx.fix, 'drivelm-numbers');
    const graphs = new Map<string, [number, number][]>();
    const acc: boolean[] = [];
    const f1s: number[] = [];
    const gptAll: number[] = [];
    const gptMatch: number[] = [];
    const langPred: string[] = [];
    const langGt: string[] = [];
    let gptFailures = 0;
    const out: ItemResult[] = [];
    for (const it of items) {
      const pred = drivelmPostprocess(it.prediction, { floats: fixNums });
      const gt = it.answer as string;
      const tags = it.tag as number[];
      const frame = it.frame as string | undefined;
      if (frame !== undefined) {
        const graph = graphs.get(frame);
        if (!graph) graphs.set(frame, drivelmMatch(pred, gt, fixNums).matched);
        else if (!drivelmInGraph(it.question as string, graph, fixNums)) {
          out.push({ id: it.id, skipped: true, extracted: pred });
          continue;
        }
      }
      const r: ItemResult = { id: it.id, extracted: pred };
      if (tags.includes(0)) {
        r.correct = pred === gt;
        acc.push(r.correct);
      }
      const rate = async (): Promise<number | null> => {
        if (!ctx.judge) return null;
        const reply = await ctx.judge.ask(drivelmRatingRequest(pred, gt));
        const v = pyFloat(reply); // the challenge's float(score); a reply that is no number is counted as a failure (the reference crashes)
        if (v === null || !Number.isFinite(v)) {
          gptFailures++;
          return 0;
        }
        return v;
      };
      if (tags.includes(1)) {
        const v = await rate();
        if (v !== null) gptAll.push(v);
      }
      if (tags.includes(2)) {
        langPred.push(pred);
        langGt.push(gt);
      }
      if (tags.includes(3)) {
        const f1 = drivelmMatch(pred, gt, fixNums).f1;
        f1s.push(f1 * 100);
        r.score = f1;
        const v = await rate();
        if (v !== null) gptMatch.push(v);
      }
      out.push(r);
    }
    const breakdown: Record<string, number> = {};
    if (acc.length) breakdown.accuracy = mean(acc.map((a) => (a ? 1 : 0)));
    if (f1s.length) breakdown.match_f1 = mean(f1s);
    if (ctx.judge && gptAll.length) breakdown.chatgpt = mean(gptAll);
    if (ctx.judge && f1s.length) breakdown.match = (mean(f1s) + mean(gptMatch)) / 2;
    if (gptFailures) breakdown.chatgpt_failures = gptFailures;
    if (langPred.length) {
      const cands = langPred.map(cocoTokenize);
      const refs = langGt.map((g) => [cocoTokenize(g)]);
      const lang = { bleu: bleu(cands, refs), rougeL: rougeLCorpus(cands, refs), cider: ciderD(cands, refs) };
      lang.bleu.forEach((b, k) => (breakdown[`bleu_${k + 1}`] = b));
      breakdown.rouge_l = lang.rougeL;
      breakdown.cider = lang.cider;
      breakdown.language = drivelmLanguage(lang);
    }
    // The final score weighs the ChatGPT ratings: without a judge there is none (and the output says so).
    const final = ctx.judge ? drivelmFinal({ chatgpt: breakdown.chatgpt ?? 0, language: breakdown.language ?? 0, match: breakdown.match ?? 0, accuracy: breakdown.accuracy ?? 0 }) : null;
    const notes = [
      ...(ctx.judge ? [] : ["DriveLM's final score weighs the ChatGPT ratings, so it is null without a judge (breakdown: accuracy, match_f1, language)"]),
      ...(langPred.length ? ['language metrics use an approximation of the PTB tokenizer (metrics/coco-caption.ts)'] : []),
    ];
    return { score: final, items: out, breakdown, note: notes.length ? notes.join('; ') : undefined };
  },
};
