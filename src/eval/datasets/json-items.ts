/** Items from JSON/JSONL records with image paths (InternVL eval files, the domain sets). */
import { dirname } from 'node:path';
import { resolveImagePath } from './images.ts';
import { readJsonRecords } from './records.ts';
import { ItemCollector, type ImageRef } from './types.ts';

export interface JsonItemOptions {
  /** Field holding the id; absent → the record's position (line or array index) is the id. */
  idKey?: string;
  /** Field holding the image path (a string or a list of strings). */
  imageKey: string;
  /** Fields every record must have (non-null). */
  required: readonly string[];
  /** Folders image paths are resolved against, after the data file's own folder. */
  imageBases: readonly string[];
  /** Records to use (e.g. MME-RealWorld's autonomous-driving subtask); others are left out by design. */
  keep?: (v: Record<string, unknown>) => boolean;
  /** Prefix of every id (a benchmark part such as ChartQA's `human/`). */
  idPrefix?: string;
}

export function readJsonItems(path: string, name: string, opts: JsonItemOptions, out: ItemCollector): void {
  const { records, problems } = readJsonRecords(path, name);
  for (const p of problems) out.problem(p.location, p.message);
  const bases = [dirname(path), ...opts.imageBases];
  records.forEach((rec, i) => {
    const v = rec.value;
    if (opts.keep && !opts.keep(v)) return;
    const rawId = opts.idKey === undefined ? String(i) : v[opts.idKey];
    if (rawId === undefined || rawId === null || rawId === '') {
      out.problem(rec.location, `record has no '${opts.idKey}'`);
      return;
    }
    const id = `${opts.idPrefix ?? ''}${String(rawId)}`;
    const missing = [opts.imageKey, ...opts.required].filter((k) => v[k] === undefined || v[k] === null);
    if (missing.length > 0) {
      out.problem(rec.location, `missing field(s) ${missing.join(', ')}`, id);
      return;
    }
    const rawImages = v[opts.imageKey];
    const names = Array.isArray(rawImages) ? rawImages : [rawImages];
    const images: ImageRef[] = [];
    for (const n of names) {
      if (typeof n !== 'string' || n === '') {
        out.problem(rec.location, `field '${opts.imageKey}' must be a file name or a list of file names`, id);
        return;
      }
      const p = resolveImagePath(n, bases);
      if (!p) {
        out.problem(rec.location, `image file '${n}' not found (looked in ${bases.join(', ')})`, id);
        return;
      }
      images.push({ kind: 'file', path: p });
    }
    out.add({ id, location: rec.location, images, fields: { ...v } });
  });
}
