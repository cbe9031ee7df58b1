/**
 * VLMEvalKit's TSV files (pandas `to_csv(sep='\t')`: quoted cells where a value holds a tab, newline or
 * quote). Parsed with csv-parse; every row keeps its line number so problems can name it.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { errnoCode, fail } from '../../errors.ts';

export interface TsvRow {
  /** 1-based line of the row's first physical line in the file. */
  line: number;
  cells: Record<string, string>;
  /** Columns of the header missing from this row (a short row). */
  short: boolean;
}

export interface TsvTable {
  header: string[];
  rows: TsvRow[];
}

/**
 * pandas' default `na_values`: VLMEvalKit reads the TSV with pandas, so a cell holding one of these is
 * NaN there — an option or hint "None" or "N/A" is dropped by the reference, and so by us.
 */
const PANDAS_NA = new Set(['', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN',
  '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null']);

/** `pd.isna(cell)` for a cell read by `pd.read_csv` with default settings. */
export function isPandasNa(cell: string | undefined): boolean {
  return cell === undefined || PANDAS_NA.has(cell);
}

/** Reads a whole TSV; a file that cannot be parsed at all (unterminated quote...) is one error naming the line. */
export function readTsv(path: string): TsvTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    fail(`${path}: cannot read (${errnoCode(e)})`);
  }
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(text, {
      delimiter: '\t',
      bom: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      info: true,
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (e) {
    const m = e as Error & { lines?: number };
    fail(`${path}${m.lines ? `:${m.lines}` : ''}: not a readable TSV (${m.message.split('\n')[0]})`);
  }
  if (records.length === 0) fail(`${path}: empty TSV (no header line)`);
  const header = records[0]!.record.map((h) => h.trim());
  const rows: TsvRow[] = [];
  let prevEnd = records[0]!.info.lines;
  for (let r = 1; r < records.length; r++) {
    const { record, info } = records[r]!;
    const cells: Record<string, string> = {};
    header.forEach((h, i) => {
      if (i < record.length) cells[h] = record[i]!;
    });
    rows.push({ line: prevEnd + 1, cells, short: record.length < header.length });
    prevEnd = info.lines;
  }
  return { header, rows };
}

/**
 * A cell that pandas wrote from a Python list of strings (VLMEvalKit `toliststr`): `['a', 'b']`. Base64
 * and file names hold no quotes, so reading the quoted pieces is exact for the cells this is used on.
 */
export function parsePythonStringList(cell: string): string[] | null {
  const s = cell.trim();
  if (!s.startsWith('[') || !s.endsWith(']')) return null;
  const out: string[] = [];
  const re = /'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) out.push(m[1] ?? m[2] ?? '');
  return out;
}
