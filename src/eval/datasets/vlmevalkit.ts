/**
 * VLMEvalKit's benchmark TSVs (MMBench, MMMU, MathVista, OCRBench, GMAI-MMBench, AI2D/ChartQA/DocVQA
 * variants): one row per question, `index` as id, the image as base64 in `image` (several images as a
 * Python list literal; a short cell names the `index` of a row holding the image, as in MMBench), or
 * file names in `image_path`. Option columns are the single capital letters A..Z.
 */
import { dirname } from 'node:path';
import { base64Problem, resolveImagePath } from './images.ts';
import { isPandasNa, parsePythonStringList, readTsv, type TsvRow } from './tsv.ts';
import { ItemCollector, type EvalItem, type ImageRef } from './types.ts';

export interface TsvItemOptions {
  /** Columns every row must have a value in (besides `index` and the image). */
  required: readonly string[];
  /** Rows to keep (e.g. MMMU's `split == 'validation'`); others are left out silently by design. */
  keep?: (cells: Record<string, string>) => boolean;
  /** Extra folders where `image_path` names are looked for. */
  imageBases?: readonly string[];
}

/** Row fields beyond the raw cells: the options (VLMEvalKit: capital-letter columns that are not NaN) and the hint. */
export interface McqFields {
  options: Record<string, string>;
  hint: string | null;
}

export function mcqFields(cells: Record<string, string>, header: readonly string[]): McqFields {
  const options: Record<string, string> = {};
  for (const h of header) if (/^[A-Z]$/.test(h) && !isPandasNa(cells[h])) options[h] = cells[h]!;
  const sorted = Object.fromEntries(Object.entries(options).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { options: sorted, hint: isPandasNa(cells.hint) ? null : cells.hint! };
}

/** Reads `path` (shown as `name` in locations) into `out`. */
export function readVlmevalkitTsv(path: string, name: string, opts: TsvItemOptions, out: ItemCollector): void {
  const { header, rows } = readTsv(path);
  if (!header.includes('index')) {
    out.problem(`${name}:1`, `header has no 'index' column (columns: ${header.join(', ')})`);
    return;
  }
  const hasImage = header.includes('image');
  const hasPath = header.includes('image_path');
  if (!hasImage && !hasPath) {
    out.problem(`${name}:1`, `header has neither an 'image' nor an 'image_path' column`);
    return;
  }
  const missingCols = opts.required.filter((c) => !header.includes(c));
  if (missingCols.length > 0) {
    out.problem(`${name}:1`, `header lacks column(s) ${missingCols.join(', ')}: no row can be used`);
    return;
  }
  // First pass: the images each index holds, so that short cells can point at them.
  const imageByIndex = new Map<string, string>();
  if (hasImage) for (const r of rows) if (r.cells.index !== undefined && (r.cells.image?.length ?? 0) > 64) imageByIndex.set(r.cells.index.trim(), r.cells.image!);
  const bases = [dirname(path), ...(opts.imageBases ?? [])];
  for (const row of rows) {
    const loc = `${name}:${row.line}`;
    const id = row.cells.index?.trim();
    if (!id) {
      out.problem(loc, `row has no 'index'`);
      continue;
    }
    if (opts.keep && !opts.keep(row.cells)) continue;
    const missing = opts.required.filter((c) => row.cells[c] === undefined || (row.cells[c] === '' && c !== 'hint'));
    if (missing.length > 0) {
      out.problem(loc, `missing value(s) in column(s) ${missing.join(', ')}${row.short ? ' (row has fewer cells than the header)' : ''}`, id);
      continue;
    }
    const images = rowImages(row, hasImage, imageByIndex, bases);
    if (typeof images === 'string') {
      out.problem(loc, images, id);
      continue;
    }
    const item: EvalItem = {
      id,
      location: loc,
      images,
      fields: { ...withoutImages(row.cells), ...mcqFields(row.cells, header) },
    };
    out.add(item);
  }
}

function withoutImages(cells: Record<string, string>): Record<string, string> {
  const { image: _i, image_path: _p, ...rest } = cells;
  return rest;
}

/** The row's images, or a message saying what is wrong with them. */
function rowImages(row: TsvRow, hasImage: boolean, byIndex: Map<string, string>, bases: readonly string[]): ImageRef[] | string {
  const cell = hasImage ? row.cells.image : undefined;
  if (cell !== undefined && cell !== '') {
    const list = parsePythonStringList(cell) ?? [cell];
    const refs: ImageRef[] = [];
    for (const [k, raw] of list.entries()) {
      let data = raw;
      if (data.length <= 64) {
        const target = byIndex.get(data.trim());
        if (target === undefined) return `image cell '${data}' is neither base64 image data nor the index of a row holding one`;
        data = target;
      }
      const bad = base64Problem(data);
      if (bad) return list.length > 1 ? `image ${k + 1}: ${bad}` : bad;
      refs.push({ kind: 'base64', data, source: `${row.cells.index}${list.length > 1 ? `[${k}]` : ''}` });
    }
    return refs;
  }
  const pathCell = row.cells.image_path;
  if (pathCell === undefined || pathCell === '') return 'row has no image (empty image cell)';
  const names = parsePythonStringList(pathCell) ?? [pathCell];
  const refs: ImageRef[] = [];
  for (const n of names) {
    const p = resolveImagePath(n, bases);
    if (!p) return `image file '${n}' not found (looked in ${bases.join(', ')})`;
    refs.push({ kind: 'file', path: p });
  }
  return refs;
}
