/**
 * DriveLM-nuScenes (the challenge's `train_sample.json` / `test.json` layout: scene → key_frames → frame →
 * { QA: { perception, prediction, planning, behavior: [{Q, A, ...}] }, image_paths: {CAM: path},
 * key_object_infos? }) → one single-turn record per QA on the stitched six-camera image
 * (adaptation.md §4.5). Object tags are rewritten to stitched 0–1000 coordinates in question and answer,
 * and the paper's tag instruction is put before each question (its exact placement in the released
 * file is unverified; the spec's example puts it there).
 *
 * Skipped (counted, with location): a QA with an empty question or answer, or a tag naming an unknown
 * camera or a centre outside the 1600×900 view; every QA of a frame whose camera images are missing or
 * undecodable.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { errnoCode, fail, MinivlError } from '../../errors.ts';
import { loadImage, type RgbImage } from '../../image/index.ts';
import { writeFileAtomic, writeFully } from '../../io/atomic-write.ts';
import type { ChatRecord } from '../format/record.ts';
import { CAMERAS, STITCHED_HEIGHT, STITCHED_WIDTH, tagsToStitched, type Camera } from './ctag.ts';
import { encodeJpeg, stitchCameras } from './stitch.ts';
import type { ConvertContext, ConvertOutcome, Converter, Skip } from './types.ts';

/** The paper's instruction explaining the tag format. */
export const DRIVELM_TAG_INSTRUCTION =
  "Objects are encoded using <c, CAM, [cx,cy]>, where c is the identifier, CAM indicates the camera where the object's center point is situated, and x, y represent the horizontal and vertical coordinates of the center point of the 2D bounding box.";

export interface DriveLMQA {
  Q?: unknown;
  A?: unknown;
  [k: string]: unknown;
}
export interface DriveLMFrame {
  QA?: Record<string, DriveLMQA[]>;
  image_paths?: Partial<Record<string, string>>;
  key_object_infos?: Record<string, unknown>;
}
export type DriveLMFile = Record<string, { scene_description?: string; key_frames?: Record<string, DriveLMFrame> }>;

/** The stitched image's file name for a key frame. */
export function stitchedName(scene: string, frame: string): string {
  return `${scene}_${frame}.jpg`;
}

/** The QAs of a frame in file order (stages in their key order), with their stage and index. */
export function frameQAs(frame: DriveLMFrame): Array<{ stage: string; index: number; qa: DriveLMQA }> {
  const out = [];
  for (const [stage, list] of Object.entries(frame.QA ?? {})) {
    if (!Array.isArray(list)) continue;
    for (const [index, qa] of list.entries()) out.push({ stage, index, qa });
  }
  return out;
}

/** Records of one key frame (pure). `image` is the path written into the records. */
export function drivelmFrameRecords(scene: string, frameKey: string, frame: DriveLMFrame, opts: { image: string; keepOriginalQuestion?: boolean; location: string }): { records: ChatRecord[]; skipped: Skip[] } {
  const records: ChatRecord[] = [];
  const skipped: Skip[] = [];
  for (const [k, { stage, index, qa }] of frameQAs(frame).entries()) {
    const location = `${opts.location}: ${scene}/${frameKey}/QA.${stage}[${index}]`;
    if (typeof qa.Q !== 'string' || qa.Q.trim() === '') {
      skipped.push({ location, reason: 'empty question' });
      continue;
    }
    if (typeof qa.A !== 'string' || qa.A.trim() === '') {
      skipped.push({ location, reason: 'empty answer' });
      continue;
    }
    const q = tagsToStitched(qa.Q);
    const a = tagsToStitched(qa.A);
    const problems = [...q.problems, ...a.problems];
    if (problems.length > 0) {
      skipped.push({ location, reason: 'object tag outside the camera image or unknown camera', detail: problems.join('; ') });
      continue;
    }
    const rec: ChatRecord = {
      id: `${scene}_${frameKey}_${k}`,
      image: opts.image,
      width: STITCHED_WIDTH,
      height: STITCHED_HEIGHT,
      conversations: [
        { from: 'human', value: `<image>\n${DRIVELM_TAG_INSTRUCTION} ${q.text}` },
        { from: 'gpt', value: a.text },
      ],
    };
    if (opts.keepOriginalQuestion) rec.question_old = qa.Q;
    records.push(rec);
  }
  return { records, skipped };
}

function readDriveLM(path: string): DriveLMFile {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    fail(`${path}: ${e instanceof SyntaxError ? `not valid JSON (${e.message})` : `cannot read (${errnoCode(e)})`}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) fail(`${path}: expected DriveLM's layout {scene: {key_frames: {...}}}`);
  return data as DriveLMFile;
}

export const drivelm: Converter = {
  describe: 'DriveLM-nuScenes QA JSON (six cameras stitched into one 2688x896 image)',
  async convert(ctx: ConvertContext): Promise<ConvertOutcome> {
    const data = readDriveLM(ctx.input);
    const root = dirname(resolve(ctx.out));
    const stitchDir = resolve(ctx.flags.stitchDir ?? join(root, 'stitch'));
    mkdirSync(stitchDir, { recursive: true });
    const split = ctx.flags.split ?? 'train';
    if (split !== 'train' && split !== 'val') fail(`--split must be train or val, got '${split}'`);
    const out: ConvertOutcome = { records: [], skipped: [], fixed: [], sourceRecords: 0, root, written: 0 };
    const total = Object.values(data).reduce((n, s) => n + Object.values(s?.key_frames ?? {}).reduce((m, f) => m + frameQAs(f).length, 0), 0);
    for (const [scene, sceneData] of Object.entries(data)) {
      const frames = sceneData?.key_frames;
      if (typeof frames !== 'object' || frames === null) {
        out.skipped.push({ location: `${ctx.input}: ${scene}`, reason: 'scene without key_frames' });
        continue;
      }
      for (const [frameKey, frame] of Object.entries(frames)) {
        const qas = frameQAs(frame);
        out.sourceRecords += qas.length;
        const location = `${ctx.input}: ${scene}/${frameKey}`;
        const stitched = join(stitchDir, stitchedName(scene, frameKey));
        const problem = await ensureStitched(frame, ctx.images, stitched, ctx.force);
        if (problem === 'written') out.written!++;
        else if (problem !== 'exists') {
          for (const { stage, index } of qas) out.skipped.push({ location: `${location}/QA.${stage}[${index}]`, reason: 'missing or unreadable camera image', detail: problem });
          continue;
        }
        const image = (ctx.flags.imagePrefix ?? '') + relative(root, stitched);
        const r = drivelmFrameRecords(scene, frameKey, frame, { image, keepOriginalQuestion: split === 'val', location: ctx.input });
        out.records.push(...r.records);
        out.skipped.push(...r.skipped);
        ctx.onProgress?.(out.sourceRecords, total);
      }
    }
    return out;
  },
};

/**
 * Writes the stitched image unless it exists (an existing one — e.g. the released `stitch` folder — is
 * used as is unless `force`). Returns 'written', 'exists', or the problem with the camera images.
 */
async function ensureStitched(frame: DriveLMFrame, imagesDir: string, target: string, force: boolean): Promise<string> {
  if (existsSync(target) && !force) return 'exists';
  const views: Partial<Record<Camera, RgbImage>> = {};
  for (const cam of CAMERAS) {
    const rel = frame.image_paths?.[cam];
    if (typeof rel !== 'string' || rel === '') return `image_paths has no ${cam}`;
    try {
      views[cam] = await loadImage(resolve(imagesDir, rel));
    } catch (e) {
      if (e instanceof MinivlError) return e.message;
      throw e;
    }
  }
  const jpeg = await encodeJpeg(stitchCameras(views as Record<Camera, RgbImage>));
  await writeFileAtomic(target, (fh) => writeFully(fh, jpeg));
  return 'written';
}
