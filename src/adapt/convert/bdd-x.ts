/**
 * BDD-X (`BDD-X-Annotations_v1.csv`: Input.Video, then Answer.{k}start / end / action / justification for
 * up to 15 segments) → one video record per segment, as DriveGPT4 built its data: the segment's frames
 * as a video (`<video>` → "Frame-1: <image>\n..."), asked for the ego car's action and its reason.
 * Frames are read from `--images/<video stem>_<k>/` (one folder of extracted frames per segment, k from 1);
 * a segment without its folder is skipped as 'missing image'. The released BDD-X training file and its
 * prompts are not public (adaptation.md §9); the questions here are DriveGPT4's.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import type { ChatRecord } from '../format/record.ts';
import { readRows, text } from './source.ts';
import type { ConvertContext, ConvertOutcome, Converter, Skip } from './types.ts';

export const ACTION_QUESTION = 'What is the action of ego car?';
export const JUSTIFICATION_QUESTION = 'Why does the ego car doing this?';

/** The segments of one annotation row: [k, start, end, action, justification] for each filled k. */
export function bddxSegments(row: Record<string, unknown>): Array<{ k: number; start: string; end: string; action: string; justification: string }> {
  const out = [];
  for (let k = 1; k <= 15; k++) {
    const action = text(row, `Answer.${k}action`);
    const justification = text(row, `Answer.${k}justification`);
    const start = text(row, `Answer.${k}start`);
    const end = text(row, `Answer.${k}end`);
    if (!action && !justification && !start && !end) continue;
    out.push({ k, start, end, action, justification });
  }
  return out;
}

/** The clip folder name of segment k of a video URL or path. */
export function clipName(video: string, k: number): string {
  const stem = basename(video.split('?')[0]!, extname(video.split('?')[0]!));
  return `${stem}_${k}`;
}

/** One segment → record (pure). */
export function bddxRecord(video: string, seg: { k: number; action: string; justification: string }): ChatRecord {
  return {
    id: clipName(video, seg.k),
    video: clipName(video, seg.k),
    conversations: [
      { from: 'human', value: `<video>\n${ACTION_QUESTION}` },
      { from: 'gpt', value: seg.action },
      { from: 'human', value: JUSTIFICATION_QUESTION },
      { from: 'gpt', value: seg.justification },
    ],
  };
}

export const bddX: Converter = {
  describe: 'BDD-X-Annotations_v1.csv, one video record per segment (frames in --images/<video>_<k>/)',
  async convert(ctx: ConvertContext): Promise<ConvertOutcome> {
    const rows = readRows(ctx.input);
    const records: ChatRecord[] = [];
    const skipped: Skip[] = [];
    let sourceRecords = 0;
    for (const r of rows) {
      if ('error' in r) {
        sourceRecords++;
        skipped.push({ location: r.location, reason: 'unreadable source record', detail: r.error });
        continue;
      }
      const video = text(r.row, 'Input.Video');
      const segs = bddxSegments(r.row);
      sourceRecords += Math.max(segs.length, 1);
      if (!video) {
        skipped.push({ location: r.location, reason: 'no video', detail: 'Input.Video is empty' });
        continue;
      }
      for (const seg of segs) {
        const location = `${r.location}: segment ${seg.k}`;
        if (!seg.action || !seg.justification) {
          skipped.push({ location, reason: 'empty answer', detail: !seg.action ? 'no action' : 'no justification' });
          continue;
        }
        const folder = join(ctx.images, clipName(video, seg.k));
        if (!existsSync(folder) || !statSync(folder).isDirectory()) {
          skipped.push({ location, reason: 'missing image', detail: `${folder}: no frame folder` });
          continue;
        }
        const rec = bddxRecord(video, seg);
        if (ctx.flags.imagePrefix) rec.video = ctx.flags.imagePrefix + rec.video;
        records.push(rec);
      }
    }
    return { records, skipped, fixed: [], sourceRecords, root: resolve(ctx.images) };
  },
};
