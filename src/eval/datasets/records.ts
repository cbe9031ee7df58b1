/**
 * JSON data files of the InternVL eval scripts and the domain sets: JSONL (one object a line) or a JSON
 * array of objects (`.json` files of either kind exist: the reference names some JSONL files `.json`).
 * A line that is not a JSON object is a problem of that line; the rest of the file is still read.
 */
import { readFileSync } from 'node:fs';
import { errnoCode, fail } from '../../errors.ts';
import type { DataProblem } from './types.ts';

export interface JsonRecord {
  location: string;
  value: Record<string, unknown>;
}

export function readJsonRecords(path: string, name: string): { records: JsonRecord[]; problems: DataProblem[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    fail(`${path}: cannot read (${errnoCode(e)})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records: JsonRecord[] = [];
  const problems: DataProblem[] = [];
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    let arr: unknown;
    try {
      arr = JSON.parse(text);
    } catch (e) {
      fail(`${path}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
    }
    if (!Array.isArray(arr)) fail(`${path}: expected a JSON array of objects`);
    arr.forEach((v, i) => {
      const location = `${name}#${i}`;
      if (isObject(v)) records.push({ location, value: v });
      else problems.push({ location, message: `entry is not a JSON object` });
    });
    return { records, problems };
  }
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const location = `${name}:${i + 1}`;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      problems.push({ location, message: `not a JSON line (${(e as Error).message.split('\n')[0]})` });
      return;
    }
    if (isObject(v)) records.push({ location, value: v });
    else problems.push({ location, message: 'line is not a JSON object' });
  });
  return { records, problems };
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
