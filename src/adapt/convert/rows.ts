/**
 * The loop most converters share: each source row is mapped by a pure function to a record or a skip
 * reason; the image it names must exist (else the row is skipped as 'missing image'); everything
 * skipped is kept with its location.
 */
import { resolve } from 'node:path';
import type { ChatRecord } from '../format/record.ts';
import { SourceImages, type SourceRow } from './source.ts';
import type { ConvertContext, ConvertOutcome, Fix, Skip } from './types.ts';

/** What a row mapper returns: a record (with the source-relative image it needs), or why not. */
export type RowResult =
  | { record: ChatRecord; sourceImages: string[]; fixes?: string[] }
  | { skip: string; detail?: string };

export type RowMapper = (row: Record<string, unknown>, ctx: RowContext) => RowResult | Promise<RowResult>;

export interface RowContext {
  location: string;
  index: number;
  images: SourceImages;
}

/** Runs `map` over rows; the records' image paths get `--image-prefix`; root = the images folder. */
export async function convertRows(rows: Array<SourceRow | { location: string; error: string }>, ctx: ConvertContext, map: RowMapper): Promise<ConvertOutcome> {
  const images = new SourceImages(ctx.images);
  const records: ChatRecord[] = [];
  const skipped: Skip[] = [];
  const fixed: Fix[] = [];
  const prefix = ctx.flags.imagePrefix ?? '';
  for (const [index, r] of rows.entries()) {
    if (index % 1000 === 999) ctx.onProgress?.(index + 1, rows.length);
    if ('error' in r) {
      skipped.push({ location: r.location, reason: 'unreadable source record', detail: r.error });
      continue;
    }
    const res = await map(r.row, { location: r.location, index, images });
    if ('skip' in res) {
      skipped.push({ location: r.location, reason: res.skip, ...(res.detail ? { detail: res.detail } : {}) });
      continue;
    }
    const bad = res.sourceImages.map((p) => [p, images.problem(p)] as const).find(([, p]) => p !== null);
    if (bad) {
      skipped.push({ location: r.location, reason: 'missing image', detail: `${images.path(bad[0])}: ${bad[1]}` });
      continue;
    }
    if (prefix) {
      const img = res.record.image;
      if (typeof img === 'string') res.record.image = prefix + img;
      else if (Array.isArray(img)) res.record.image = img.map((p) => prefix + p);
      if (typeof res.record.video === 'string') res.record.video = prefix + res.record.video;
    }
    for (const note of res.fixes ?? []) fixed.push({ location: r.location, note });
    records.push(res.record);
  }
  ctx.onProgress?.(rows.length, rows.length);
  return { records, skipped, fixed, sourceRecords: rows.length, root: resolve(ctx.images) };
}

/** `<image>\n` + question, with the short-answer suffix when asked for. */
export function vqaQuestion(question: string, suffix: boolean): string {
  return `<image>\n${question}${suffix ? ' Answer the question using a single word or phrase.' : ''}`;
}

/** A single-image one-round record. */
export function singleTurn(id: string | number, image: string, human: string, gpt: string, extra: Partial<ChatRecord> = {}): ChatRecord {
  return { id, image, ...extra, conversations: [{ from: 'human', value: human }, { from: 'gpt', value: gpt }] };
}
