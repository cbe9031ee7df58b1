/** Scorers of the domain benchmarks with rule-only metrics: MME-RealWorld, RSVQA, DIOR-RSVG. */
import { isFixed } from '../quirks.ts';
import * as F from '../items.ts';
import { rsvqaCorrect, rsvqaSummary } from '../metrics/rsvqa.ts';
import { groundingCorrect, type Box } from '../metrics/dior-rsvg.ts';
import { mmeExtract } from '../metrics/mme-realworld.ts';
import { groupPct, pct, type BenchSpec, type Via } from './types.ts';

export const mmeRealWorld: BenchSpec = {
  protocols: ['internvl'],
  judged: [],
  fields: 'choices (list like "(A) red"), answer (letter), task (Perception|Reasoning), optional category',
  parse(where, raw) {
    const b = F.base(where, raw);
    return { ...raw, id: b.id, prediction: b.prediction, choices: F.strList(where, raw, 'choices', 'strict'), answer: F.letter(where, raw, 'answer'), task: F.str(where, raw, 'task'), category: F.optStr(where, raw, 'category') };
  },
  async score(items, _p, ctx) {
    const fix = isFixed(ctx.fix, 'mme-rw-prefixes');
    const out = items.map((it) => {
      const l = mmeExtract(it.prediction, it.choices as string[], fix);
      return { id: it.id, correct: l === it.answer, extracted: l, via: 'rule' as Via };
    });
    const hits = out.map((o) => o.correct);
    return { score: pct(hits), items: out, breakdown: { ...groupPct(items, hits, 'task'), ...groupPct(items, hits, 'category') } };
  },
};

export const rsvqa: BenchSpec = {
  protocols: ['internvl'],
  judged: [],
  fields: 'answer (gt_answer), type (presence, comp, rural_urban, count, area, ...)',
  parse(where, raw) {
    const b = F.base(where, raw);
    return { ...raw, id: b.id, prediction: b.prediction, answer: F.strOrNum(where, raw, 'answer'), type: F.str(where, raw, 'type') };
  },
  async score(items, _p, ctx) {
    const fix = isFixed(ctx.fix, 'rsvqa-punctuation');
    const out = items.map((it) => ({ id: it.id, correct: rsvqaCorrect(it.type as string, it.prediction, it.answer as string, fix) }));
    const s = rsvqaSummary(items.map((it, i) => ({ type: it.type as string, correct: out[i]!.correct })));
    const breakdown: Record<string, number> = { total_score: 100 * s.total };
    for (const [t, v] of Object.entries(s.perType)) breakdown[`type:${t}`] = 100 * v;
    return { score: 100 * s.useful, items: out, breakdown };
  },
};

export const diorRsvg: BenchSpec = {
  protocols: ['internvl'],
  judged: [],
  fields: 'bbox ([x1,y1,x2,y2] pixels), size ([W,H])',
  parse(where, raw) {
    const b = F.base(where, raw);
    return { ...raw, id: b.id, prediction: b.prediction, bbox: F.numbers(where, raw, 'bbox', 4), size: F.numbers(where, raw, 'size', 2) };
  },
  async score(items, _p, ctx) {
    const textbook = isFixed(ctx.fix, 'dior-iou');
    const out = items.map((it) => {
      const r = groundingCorrect(it.prediction, it.bbox as Box, it.size as [number, number], textbook);
      return { id: it.id, correct: r.correct, extracted: r.iou === null ? '' : `iou=${r.iou}` };
    });
    return { score: pct(out.map((o) => o.correct)), items: out };
  },
};
