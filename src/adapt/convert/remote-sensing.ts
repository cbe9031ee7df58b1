/**
 * Remote-sensing sources (adaptation.md §4.2, §4.8) in their released layouts:
 * - DIOR-RSVG: VOC-style `Annotations/*.xml` (size, objects with name, bndbox and description), images in
 *   `JPEGImages/`; --in is the Annotations folder, one XML file, or a split file (train.txt: one id per
 *   line, Annotations/ beside it); a JSONL/JSON of {image, expr, bbox, width?, height?} rows works too.
 *   Each object → "Detect <ref>expr</ref>" with its pixel box normalised to 0..1000 (half-even).
 * - RSVQA-LR/HR: `*_questions.json` ({"questions": [{id, img_id, type, question, answers_ids, active}]})
 *   with its `*_answers.json` beside it; images `{img_id}.tif` under --images.
 * - GeoChat instruct (LLaVA layout: [{id, image, conversations}]): task tags ([refer], [grounding], ...)
 *   removed and `{<x1><y1><x2><y2>|θ}` boxes on GeoChat's 0–100 grid rewritten as 0–1000 `<box>` lists;
 *   the rotation angle is dropped (the released rewrite rules are unverified, adaptation.md §9).
 * Boxes outside the image or with x1 ≥ x2 / y1 ≥ y2 are skipped, never clamped silently.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { errnoCode, fail } from '../../errors.ts';
import { formatBox, normalizeBox } from '../format/boxes.ts';
import type { ChatRecord, Turn } from '../format/record.ts';
import { vqaRecord } from './medical.ts';
import { convertRows, type RowResult } from './rows.ts';
import { listFiles, readRows, text, type SourceRow } from './source.ts';
import type { ConvertContext, ConvertOutcome, Converter } from './types.ts';

/** The grounding conversation of the remote-sensing recipe (pure). */
export function groundingRecord(id: string | number, image: string, expr: string, pixelBox: readonly number[], width: number, height: number, question?: string): ChatRecord {
  const box = normalizeBox(pixelBox, width, height);
  const q = question ?? `Detect <ref>${expr}</ref>`;
  return { id, image, width, height, conversations: [{ from: 'human', value: `<image>\n${q}` }, { from: 'gpt', value: `<ref>${expr}</ref>${formatBox([box])}` }] };
}

/** Why a pixel box cannot be used on a W×H image, or null. */
export function pixelBoxProblem(b: readonly number[], width: number, height: number): string | null {
  if (b.length !== 4 || !b.every(Number.isFinite)) return `box ${JSON.stringify(b)} is not four numbers`;
  const [x1, y1, x2, y2] = b as [number, number, number, number];
  if (x1 < 0 || y1 < 0 || x2 > width || y2 > height) return `box [${b.join(', ')}] is outside the ${width}x${height} image`;
  if (x1 >= x2 || y1 >= y2) return `box [${b.join(', ')}] is empty or inverted`;
  return null;
}

/**
 * The size of the image a pixel box lives on — the row's `width`/`height` when both are positive, else the
 * image file's — once the box is checked against it; or why the row is skipped.
 */
export async function checkedBoxImageSize(
  row: Record<string, unknown>,
  image: string,
  box: readonly number[],
  images: { size(rel: string): Promise<{ width: number; height: number } | string> },
): Promise<{ width: number; height: number } | { skip: string; detail: string }> {
  let width = Number(row.width);
  let height = Number(row.height);
  if (!(width > 0 && height > 0)) {
    const s = await images.size(image);
    if (typeof s === 'string') return { skip: 'missing image', detail: s };
    ({ width, height } = s);
  }
  const problem = pixelBoxProblem(box, width, height);
  return problem ? { skip: 'box outside the image', detail: problem } : { width, height };
}

// --- DIOR-RSVG ---------------------------------------------------------------------------------

/** One object of a VOC annotation. */
export interface VocObject {
  name: string;
  description: string;
  box: number[];
}

/**
 * The fields DIOR-RSVG's VOC files use, read with regular expressions: the files are flat, machine-written
 * XML without attributes, namespaces or CDATA, and no XML parser is among the project's dependencies.
 */
export function parseVocXml(xml: string): { filename: string; width: number; height: number; objects: VocObject[] } {
  const tag = (s: string, name: string) => new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(s)?.[1]?.trim() ?? '';
  const size = tag(xml, 'size');
  const objects: VocObject[] = [];
  for (const m of xml.matchAll(/<object>([\s\S]*?)<\/object>/g)) {
    const o = m[1]!;
    const bb = tag(o, 'bndbox');
    objects.push({
      name: unescapeXml(tag(o, 'name')),
      description: unescapeXml(tag(o, 'description')),
      box: ['xmin', 'ymin', 'xmax', 'ymax'].map((k) => Number(tag(bb, k) || NaN)),
    });
  }
  return { filename: unescapeXml(tag(xml, 'filename')), width: Number(tag(size, 'width')), height: Number(tag(size, 'height')), objects };
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

function diorXmlFiles(input: string): string[] {
  const st = statSync(input);
  if (st.isDirectory()) return listFiles(input, ['.xml']).map((f) => join(input, f));
  if (extname(input).toLowerCase() === '.xml') return [input];
  // A split file: ids, one per line, with Annotations/ beside it.
  const dir = join(dirname(input), 'Annotations');
  if (!existsSync(dir)) fail(`${input}: a split file needs the Annotations folder beside it (${dir})`);
  let ids: string[];
  try {
    ids = readFileSync(input, 'utf8').split('\n').map((s) => s.trim()).filter(Boolean);
  } catch (e) {
    fail(`${input}: cannot read (${errnoCode(e)})`);
  }
  return ids.map((id) => join(dir, `${id}.xml`));
}

export const diorRsvg: Converter = {
  describe: 'DIOR-RSVG VOC annotations (Annotations/ folder, one .xml, or a split .txt; or {image, expr, bbox} rows)',
  async convert(ctx: ConvertContext): Promise<ConvertOutcome> {
    const ext = extname(ctx.input).toLowerCase();
    if (ext === '.jsonl' || ext === '.json' || ext === '.csv') return convertRows(readRows(ctx.input), ctx, (row, c) => diorRow(row, c.index, c.images));
    // Each object of each XML file is one source row.
    const rows: Array<SourceRow | { location: string; error: string }> = [];
    for (const file of diorXmlFiles(ctx.input)) {
      let xml: string;
      try {
        xml = readFileSync(file, 'utf8');
      } catch (e) {
        rows.push({ location: file, error: `cannot read (${errnoCode(e)})` });
        continue;
      }
      const a = parseVocXml(xml);
      if (a.objects.length === 0) rows.push({ location: file, error: 'no <object> in the annotation' });
      a.objects.forEach((o, k) => {
        const stem = basename(file, '.xml');
        rows.push({
          location: `${file}: object ${k + 1}`,
          row: { id: a.objects.length > 1 ? `${stem}_${k}` : /^\d+$/.test(stem) ? Number(stem) : stem, image: `JPEGImages/${a.filename || `${stem}.jpg`}`, expr: o.description || o.name, bbox: o.box, width: a.width, height: a.height },
        });
      });
    }
    return convertRows(rows, ctx, (row, c) => diorRow(row, c.index, c.images));
  },
};

async function diorRow(row: Record<string, unknown>, index: number, images: { size(rel: string): Promise<{ width: number; height: number } | string> }): Promise<RowResult> {
  const image = text(row, 'image');
  const expr = text(row, 'expr') || text(row, 'expression') || text(row, 'description');
  const bbox = row.bbox;
  if (!image) return { skip: 'no image path' };
  if (!expr) return { skip: 'empty referring expression' };
  if (!Array.isArray(bbox)) return { skip: 'no box', detail: 'expected bbox: [x1, y1, x2, y2] in pixels' };
  const box = bbox.map(Number);
  const size = await checkedBoxImageSize(row, image, box, images);
  if ('skip' in size) return size;
  const { width, height } = size;
  const id = typeof row.id === 'number' || typeof row.id === 'string' ? row.id : index;
  return { record: groundingRecord(id, image, expr, box, width, height), sourceImages: [image] };
}

// --- RSVQA --------------------------------------------------------------------------------------

export const rsvqa: Converter = {
  describe: 'RSVQA-LR/HR *_questions.json with *_answers.json beside it (images {img_id}.tif under --images)',
  async convert(ctx: ConvertContext): Promise<ConvertOutcome> {
    if (!/questions\.json$/.test(ctx.input)) fail(`--in ${ctx.input}: expected RSVQA's *_questions.json (its *_answers.json beside it)`);
    const answersPath = ctx.input.replace(/questions\.json$/, 'answers.json');
    if (!existsSync(answersPath)) fail(`${answersPath}: missing (RSVQA's answers file, read with ${basename(ctx.input)})`);
    const answers = new Map<number, string>();
    for (const r of readRows(answersPath, { listKey: 'answers' })) {
      if ('row' in r && r.row.active !== false && typeof r.row.id === 'number') answers.set(r.row.id, text(r.row, 'answer'));
    }
    return convertRows(readRows(ctx.input, { listKey: 'questions' }), ctx, (row) => {
      if (row.active === false) return { skip: 'inactive question' };
      const ids = Array.isArray(row.answers_ids) ? row.answers_ids : [];
      const answer = ids.map((i) => answers.get(Number(i))).find((a) => a) ?? '';
      if (row.img_id === undefined) return { skip: 'no image id' };
      const rec = vqaRecord(text(row, 'id'), `${text(row, 'img_id')}.tif`, text(row, 'question'), answer, ctx.flags.suffixVqa ?? false);
      if ('record' in rec && text(row, 'type')) rec.record.type = text(row, 'type');
      return rec;
    });
  },
};

// --- GeoChat ------------------------------------------------------------------------------------

const GEOCHAT_TASK_TAG = /\[(refer|grounding|identify|vqa|caption|detection)\]\s*/gi;
const GEOCHAT_BOX_RUN = /(?:\{<-?\d+(?:\.\d+)?><-?\d+(?:\.\d+)?><-?\d+(?:\.\d+)?><-?\d+(?:\.\d+)?>(?:\|-?\d+(?:\.\d+)?)?\}\s*)+/g;
const GEOCHAT_BOX = /\{<(-?\d+(?:\.\d+)?)><(-?\d+(?:\.\d+)?)><(-?\d+(?:\.\d+)?)><(-?\d+(?:\.\d+)?)>(?:\|(-?\d+(?:\.\d+)?))?\}/g;

/** GeoChat text → InternVL syntax: task tags removed, each run of 0–100 boxes one 0–1000 `<box>` (pure). */
export function rewriteGeoChat(value: string): { value: string; problems: string[] } {
  const problems: string[] = [];
  let out = value.replace(GEOCHAT_TASK_TAG, '');
  out = out.replace(GEOCHAT_BOX_RUN, (run) => {
    const trailing = /\s*$/.exec(run)![0];
    const boxes = [...run.matchAll(GEOCHAT_BOX)].map((m) => [1, 2, 3, 4].map((k) => Math.round(Number(m[k]) * 10)));
    for (const b of boxes) if (b.some((v) => v < 0 || v > 1000)) problems.push(`box [${b.join(', ')}] is outside 0..1000 after scaling GeoChat's 0–100 grid`);
    return formatBox(boxes) + trailing;
  });
  return { value: out, problems };
}

export const geochat: Converter = {
  describe: 'GeoChat instruct JSON/JSONL (LLaVA layout) with GeoChat boxes rewritten to <box> 0..1000',
  async convert(ctx: ConvertContext): Promise<ConvertOutcome> {
    return convertRows(readRows(ctx.input), ctx, (row, { index }) => {
      const image = text(row, 'image');
      const convs = row.conversations;
      if (!Array.isArray(convs) || convs.length === 0) return { skip: 'no conversations' };
      const turns: Turn[] = [];
      for (const t of convs as Array<Record<string, unknown>>) {
        const from = t?.from === 'human' || t?.from === 'user' ? 'human' : t?.from === 'gpt' || t?.from === 'assistant' ? 'gpt' : null;
        if (!from || typeof t.value !== 'string') return { skip: 'bad turn', detail: JSON.stringify(t).slice(0, 80) };
        const r = rewriteGeoChat(t.value);
        if (r.problems.length > 0) return { skip: 'box outside the image', detail: r.problems.join('; ') };
        turns.push({ from, value: r.value });
      }
      const order = turns.findIndex((t, i) => t.from !== (i % 2 === 0 ? 'human' : 'gpt'));
      if (order >= 0) return { skip: 'bad turn order', detail: `turn ${order + 1} is from ${turns[order]!.from}` };
      if (turns.some((t) => t.from === 'gpt' && t.value.trim() === '')) return { skip: 'empty answer' };
      const id = typeof row.id === 'string' || typeof row.id === 'number' ? row.id : index;
      if (!image) return { record: { id, conversations: turns }, sourceImages: [] };
      if (!turns[0]!.value.includes('<image>')) turns[0] = { ...turns[0]!, value: `<image>\n${turns[0]!.value}` };
      return { record: { id, image, conversations: turns }, sourceImages: [image] };
    });
  },
};
