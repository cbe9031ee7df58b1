/**
 * Submission files for the benchmarks scored by official servers: DocVQA / InfoVQA (RRC: a JSON list
 * of `{questionId, answer}`) and MMBench (the TSV's question columns plus `prediction`; the server also
 * takes it as xlsx — we write TSV, which needs no spreadsheet library).
 */
import { join } from 'node:path';
import { fail } from '../errors.ts';
import { writeTextAtomic } from '../io/atomic-write.ts';
import type { EvalStore } from './store.ts';

const RRC = new Set(['docvqa', 'docvqa-test', 'infovqa', 'infovqa-test']);
const MMB = new Set(['mmbench-en', 'mmbench-cn']);

export function exportable(bench: string): boolean {
  return RRC.has(bench) || MMB.has(bench);
}

const tsvCell = (s: string) => (/[\t\n"]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** Writes the submission file of one benchmark into `dir`; returns its path. */
export async function exportSubmission(store: EvalStore, bench: string, dir: string): Promise<string> {
  const rows = store.items(bench);
  let name: string;
  let body: string;
  if (RRC.has(bench)) {
    name = `${bench}_submission.json`;
    body = JSON.stringify(rows.map((r) => ({ questionId: Number.isSafeInteger(Number(r.id)) ? Number(r.id) : r.id, answer: r.prediction })));
  } else if (MMB.has(bench)) {
    name = `${bench}_submission.tsv`;
    const lines = rows.map((r) => ({ r, f: JSON.parse(r.fields) as { index: number; question: string; options: Record<string, string>; answer: string } }));
    const letters = [...new Set(lines.flatMap(({ f }) => Object.keys(f.options)))].sort();
    const header = ['index', 'question', ...letters, 'answer', 'prediction'];
    const out = [header.join('\t')];
    for (const { r, f } of lines) out.push([String(f.index), f.question, ...letters.map((l) => f.options[l] ?? ''), f.answer, r.prediction].map(tsvCell).join('\t'));
    body = `${out.join('\n')}\n`;
  } else {
    fail(`${bench}: no submission format (exportable: ${[...RRC, ...MMB].join(', ')})`);
  }
  const path = join(dir, name);
  await writeTextAtomic(path, body);
  return path;
}

