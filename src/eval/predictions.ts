/** Reading a predictions JSONL file (one JSON object per line) and judge exchange logs, with file:line errors. */
import { readFileSync } from 'node:fs';
import { errnoCode, fail } from '../errors.ts';
import type { JudgeExchange } from './judge.ts';

export interface JsonLines {
  /** The parsed objects, blank lines skipped. */
  values: unknown[];
  /** "FILE:LINE" of each value. */
  where: string[];
}

export function readJsonLines(file: string): JsonLines {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    fail(`${file}: cannot read (${errnoCode(e)})`);
  }
  const values: unknown[] = [];
  const where: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const loc = `${file}:${i + 1}`;
    try {
      values.push(JSON.parse(line));
    } catch (e) {
      fail(`${loc}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
    }
    where.push(loc);
  });
  if (values.length === 0) fail(`${file}: no prediction lines`);
  return { values, where };
}

/** A judge log written by `--judge-log` (one exchange per line). */
export function readJudgeLog(file: string): JudgeExchange[] {
  const { values, where } = readJsonLines(file);
  return values.map((v, i) => {
    const ex = v as Partial<JudgeExchange>;
    if (typeof ex?.key !== 'string' || typeof ex.reply !== 'string' || typeof ex.request !== 'object') fail(`${where[i]}: not a judge exchange ({key, request, reply})`);
    return ex as JudgeExchange;
  });
}
