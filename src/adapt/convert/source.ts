/**
 * Reading source tables (JSON list, JSONL, CSV/TSV) with a location per row, and checking the images
 * they name (existence once per path; header size when a box must be normalised).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { errnoCode, fail, MinivlError } from '../../errors.ts';
import { imageSize } from '../sample/record-sample.ts';

export interface SourceRow {
  /** `file:line` (JSONL, CSV) or `file[index]` (JSON). */
  location: string;
  row: Record<string, unknown>;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    fail(`${path}: cannot read (${errnoCode(e)})`);
  }
}

/**
 * Rows of a source table by extension: `.json` (a list, or an object holding one list such as
 * {"questions": [...]}), `.jsonl`, `.csv`, `.tsv`. A row that cannot be read is returned as an error row.
 */
export function readRows(path: string, opts: { listKey?: string } = {}): Array<SourceRow | { location: string; error: string }> {
  const ext = extname(path).toLowerCase();
  const text = readText(path);
  if (ext === '.jsonl') {
    const out: Array<SourceRow | { location: string; error: string }> = [];
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      const location = `${path}:${i + 1}`;
      try {
        const v = JSON.parse(line);
        if (typeof v !== 'object' || v === null || Array.isArray(v)) out.push({ location, error: 'not a JSON object' });
        else out.push({ location, row: v });
      } catch (e) {
        out.push({ location, error: `not valid JSON (${(e as Error).message})` });
      }
    });
    return out;
  }
  if (ext === '.csv' || ext === '.tsv') {
    let recs: Array<{ record: Record<string, string>; info: { lines: number } }>;
    try {
      recs = parse(text, { columns: true, info: true, skip_empty_lines: true, bom: true, relax_column_count: true, delimiter: ext === '.tsv' ? '\t' : ',' });
    } catch (e) {
      fail(`${path}: cannot parse as ${ext.slice(1).toUpperCase()} (${(e as Error).message.split('\n')[0]})`);
    }
    return recs.map((r) => ({ location: `${path}:${r.info.lines}`, row: r.record }));
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    fail(`${path}: not valid JSON (${(e as Error).message})`);
  }
  let list: unknown = data;
  if (!Array.isArray(list) && typeof list === 'object' && list !== null) {
    const obj = list as Record<string, unknown>;
    list = opts.listKey !== undefined ? obj[opts.listKey] : Object.values(obj).find(Array.isArray);
  }
  if (!Array.isArray(list)) fail(`${path}: expected a JSON list of records${opts.listKey ? ` under "${opts.listKey}"` : ''}`);
  return list.map((v, i) => {
    const location = `${path}[${i}]`;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? { location, row: v as Record<string, unknown> } : { location, error: 'not a JSON object' };
  });
}

/** Images of a source, relative to one folder; each path is checked once. */
export class SourceImages {
  private readonly problems = new Map<string, string | null>();
  private readonly sizes = new Map<string, { width: number; height: number } | string>();

  constructor(readonly base: string) {}

  path(rel: string): string {
    return resolve(this.base, rel);
  }

  /** Why the image cannot be used ('missing', ...), or null. */
  problem(rel: string): string | null {
    const p = this.path(rel);
    let v = this.problems.get(p);
    if (v === undefined) {
      try {
        const st = statSync(p);
        v = st.isFile() ? (st.size > 0 ? null : 'empty file') : 'not a file';
      } catch (e) {
        const code = errnoCode(e);
        v = code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : `cannot access (${code})`;
      }
      this.problems.set(p, v);
    }
    return v;
  }

  /** Stored width × height from the image header, or the reason it cannot be read. */
  async size(rel: string): Promise<{ width: number; height: number } | string> {
    const p = this.path(rel);
    let v = this.sizes.get(p);
    if (v === undefined) {
      try {
        v = await imageSize(p);
      } catch (e) {
        if (!(e instanceof MinivlError)) throw e;
        v = e.message;
      }
      this.sizes.set(p, v);
    }
    return v;
  }
}

/** Files of a folder with one of the extensions, sorted by name. */
export function listFiles(dir: string, exts: string[]): string[] {
  try {
    return readdirSync(dir).filter((f) => exts.includes(extname(f).toLowerCase())).sort();
  } catch (e) {
    fail(`${dir}: cannot list (${errnoCode(e)})`);
  }
}

/** A row field as trimmed text ('' when absent); numbers become their decimal text. */
export function text(row: Record<string, unknown>, key: string): string {
  const v = row[key];
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return '';
}
