/**
 * A JSONL record → one training sample as the reference dataset's `__getitem__` builds it (training.md
 * §4.1–4.6): `<image>\n` auto-inserted for single images, dynamic tiling with the dataset's
 * `max_dynamic_patch` (multi-image: max(1, floor(max / n)) each; frames and the text dummy: 1 tile),
 * `<image>` expansion to 256 × tiles `<IMG_CONTEXT>`, tokenisation, truncation and the loss mask.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { fail, MinivlError } from '../../errors.ts';
import { readSource, sharpInput, decodeError } from '../../image/decode.ts';
import {
  chooseGrid, dynamicPreprocess, getFrameIndices, loadImage, loadVideoFrame, preprocessImage, probeVideo, TILE_SIZE, toPixelValues,
  type RgbImage,
} from '../../image/index.ts';
import { concatFloat32 } from '../../io/dtype.ts';
import { IMAGE_PLACEHOLDER, NUM_IMAGE_TOKEN, type ConversationTemplate } from '../../prompt/index.ts';
import type { Tokenizer } from '../../tokenizer/index.ts';
import { resolveMediaPath, type DatasetLine } from '../format/meta.ts';
import { parseRecordLine } from '../format/validate.ts';
import { recordImages, recordKind, type ChatRecord, type Turn } from '../format/record.ts';
import { buildTrainingSample } from './build.ts';

export interface RecordSampleOptions {
  tokenizer: Tokenizer;
  template: string | ConversationTemplate;
  /** The dataset root (DatasetSpec.rootPath); image paths of the record are joined to it. */
  root: string;
  /** Max tiles per image (the dataset's `max_dynamic_patch`, else the run's; reference default 12). */
  maxDynamicPatch?: number;
  minDynamicPatch?: number;
  /** Append the thumbnail tile when an image has more than one tile (all scripts: true). */
  useThumbnail?: boolean;
  /** `max_seq_length` (reference default 8192). */
  maxLength?: number;
  /** Also decode and normalise the tiles (`pixelValues`); without it only image sizes are read. */
  pixels?: boolean;
  /** Frames taken from a `video` record (the reference draws 8..32 at random; here a fixed count). */
  numFrames?: number;
  systemMessage?: string;
  /**
   * The dataset's `data_augment`: with `pixels`, every tile is JPEG re-encoded at a quality drawn uniformly
   * from 75..100 with `random` (a [0, 1) source; default Math.random) before normalisation (training.md §4.4).
   */
  dataAugment?: boolean;
  random?: () => number;
  /** Image sizes already read (path → size), filled as images are read; for many records over few images. */
  sizeCache?: Map<string, { width: number; height: number }>;
}

export interface RecordSample {
  inputIds: number[];
  labels: number[];
  /** Tiles of the sample (a text record has its one dummy tile). */
  numTiles: number;
  /** `<IMG_CONTEXT>` count of each image, in `<image>` order. */
  numImageTokens: number[];
  /** 1 per real tile, 0 for the text record's dummy tile. */
  imageFlags: number[];
  /** `[numTiles, 3, 448, 448]` when `pixels` was asked for. */
  pixelValues?: Float32Array;
}

/** Tiles per image of a record with n images: max(1, floor(max / n)) for several, max for one. */
export function recordTileBudget(maxDynamicPatch: number, numImages: number): number {
  return numImages <= 1 ? maxDynamicPatch : Math.max(1, Math.floor(maxDynamicPatch / numImages));
}

/** Builds the sample; problems (missing image, truncated image tokens, bad turns) throw a one-line MinivlError. */
export async function loadRecordSample(record: ChatRecord, opts: RecordSampleOptions): Promise<RecordSample> {
  const kind = recordKind(record);
  const maxLength = opts.maxLength ?? 8192;
  let conversations: Turn[] = record.conversations.map((t) => ({ ...t }));
  const tiles: number[] = [];
  const pixels: Float32Array[] = [];
  const tiling = { minNum: opts.minDynamicPatch ?? 1, imageSize: TILE_SIZE, useThumbnail: opts.useThumbnail ?? true };

  const addImage = async (path: string, maxNum: number) => {
    if (opts.pixels) {
      const { tiles: t } = dynamicPreprocess(await loadImage(path), { ...tiling, maxNum });
      tiles.push(t.length);
      pixels.push(toPixelValues(opts.dataAugment ? await jpegDegrade(t, opts.random ?? Math.random) : t));
    } else {
      let size = opts.sizeCache?.get(path);
      if (!size) {
        size = await imageSize(path);
        opts.sizeCache?.set(path, size);
      }
      const { width, height } = size;
      const [c, r] = chooseGrid(width, height, tiling.minNum, maxNum, TILE_SIZE);
      tiles.push(c * r === 1 || !tiling.useThumbnail ? c * r : c * r + 1);
    }
  };

  if (kind === 'image' || kind === 'multi-image') {
    const images = recordImages(record);
    if (kind === 'image' && !conversations[0]!.value.includes(IMAGE_PLACEHOLDER)) {
      conversations[0] = { ...conversations[0]!, value: `${IMAGE_PLACEHOLDER}\n${conversations[0]!.value}` };
    }
    const maxNum = recordTileBudget(opts.maxDynamicPatch ?? 12, images.length);
    for (const img of images) await addImage(resolveMediaPath(opts.root, img), maxNum);
  } else if (kind === 'video') {
    const frames = await videoFrames(resolveMediaPath(opts.root, record.video as string), opts.numFrames ?? 8);
    if (!conversations[0]!.value.includes('<video>')) conversations[0] = { ...conversations[0]!, value: `<video>\n${conversations[0]!.value}` };
    const prefix = frames.images.map((_, k) => `Frame-${k + 1}: ${IMAGE_PLACEHOLDER}\n`).join('');
    // The reference replaces `<video>\n` in the first turn only.
    conversations[0] = { ...conversations[0]!, value: conversations[0]!.value.split('<video>\n').join(prefix) };
    for (const f of frames.images) {
      tiles.push(1);
      if (opts.pixels) {
        const { tiles: t } = dynamicPreprocess(await f(), { ...tiling, maxNum: 1 });
        pixels.push(toPixelValues(opts.dataAugment ? await jpegDegrade(t, opts.random ?? Math.random) : t));
      }
    }
  }

  const textOnly = kind === 'text';
  const numImageTokens = tiles.map((n) => NUM_IMAGE_TOKEN * n);
  const sample = buildTrainingSample({
    tokenizer: opts.tokenizer, template: opts.template, conversations, numImageTokens, maxLength, textOnly,
    ...(opts.systemMessage !== undefined ? { systemMessage: opts.systemMessage } : {}),
  });
  if (kind === 'image' || kind === 'multi-image') {
    const endId = opts.tokenizer.tokenToId('</img>');
    const ends = sample.inputIds.reduce((n, id) => n + (id === endId ? 1 : 0), 0);
    if (ends !== tiles.length) {
      fail(`${ends} of ${tiles.length} image(s) survive truncation to ${maxLength} tokens (the trainer rejects such a record)`);
    }
  }
  if (textOnly) {
    // The reference feeds one white 224x224 image flagged 0 so every sample has pixel values.
    const out: RecordSample = { ...sample, numTiles: 1, numImageTokens: [], imageFlags: [0] };
    if (opts.pixels) out.pixelValues = (await preprocessImage(whiteImage(224), { ...tiling, maxNum: 1 })).pixelValues;
    return out;
  }
  const numTiles = tiles.reduce((a, b) => a + b, 0);
  const out: RecordSample = { ...sample, numTiles, numImageTokens, imageFlags: new Array(numTiles).fill(1) };
  if (opts.pixels) out.pixelValues = concatFloat32(pixels);
  return out;
}

/**
 * The reference's training-time augmentation: each tile JPEG-compressed at a random quality in 75..100 and
 * decoded again (libjpeg through sharp here, Pillow's libjpeg there: the same kind of degradation, not the
 * same bytes — it is random anyway).
 */
export async function jpegDegrade(tiles: RgbImage[], random: () => number): Promise<RgbImage[]> {
  const out: RgbImage[] = [];
  for (const t of tiles) {
    const quality = 75 + Math.min(25, Math.floor(random() * 26));
    const jpeg = await sharp(t.data, { raw: { width: t.width, height: t.height, channels: 3 } }).jpeg({ quality, chromaSubsampling: '4:2:0' }).toBuffer();
    const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    out.push({ width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) });
  }
  return out;
}

/** One failed attempt of `loadDatasetSample`. */
export interface SampleFailure {
  file: string;
  lineNo: number;
  message: string;
}

/**
 * The reference's failure policy (training.md §4.1): a line that cannot be built (bad record, missing image,
 * image tokens cut off) is replaced by a uniformly random line of the same dataset, at most 10 times; the
 * 11th consecutive failure is an error. Every failure is returned, so the caller can report it.
 */
export async function loadDatasetSample(
  lines: ReadonlyArray<DatasetLine>, index: number, opts: RecordSampleOptions, retry: { random?: () => number; retries?: number } = {},
): Promise<{ sample: RecordSample; line: DatasetLine; failures: SampleFailure[] }> {
  const random = retry.random ?? Math.random;
  const failures: SampleFailure[] = [];
  let i = index;
  for (let attempt = 0; attempt <= (retry.retries ?? 10); attempt++) {
    const line = lines[i]!;
    try {
      return { sample: await loadRecordSample(parseRecordLine(line), opts), line, failures };
    } catch (e) {
      if (!(e instanceof MinivlError)) throw e;
      failures.push({ file: line.file, lineNo: line.lineNo, message: e.message });
      i = Math.floor(random() * lines.length);
    }
  }
  fail(`${failures.length} consecutive samples of ${lines[index]?.file ?? 'the dataset'} failed; the last: ${failures[failures.length - 1]!.message}`);
}

function whiteImage(size: number): RgbImage {
  return { width: size, height: size, data: new Uint8Array(size * size * 3).fill(255) };
}

/** Width and height as stored (no EXIF rotation, as Pillow reports them), from the header only. */
export async function imageSize(path: string): Promise<{ width: number; height: number }> {
  const buf = await readSource(path);
  try {
    const m = await sharpInput(buf).metadata();
    if (!m.width || !m.height) fail(`cannot decode image ${path}: no size in the header`);
    return { width: m.width, height: m.height };
  } catch (e) {
    throw decodeError(path, e);
  }
}

/** Frames of a video record: a folder of frame images (sorted by name) or an animated image file. */
async function videoFrames(path: string, count: number): Promise<{ images: Array<() => Promise<RgbImage>> }> {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    fail(`cannot read video ${path}: no such file or folder`);
  }
  if (isDir) {
    const files = readdirSync(path).filter((f) => /\.(jpe?g|png|webp|bmp|gif|tiff?)$/i.test(f)).sort().map((f) => join(path, f));
    if (files.length === 0) fail(`video folder ${path} holds no frame images`);
    const idx = getFrameIndices({ numFrames: files.length, fps: 1, numSegments: Math.min(count, files.length) });
    return { images: idx.map((i) => () => loadImage(files[Math.min(Math.max(i, 0), files.length - 1)]!)) };
  }
  const { numFrames, fps } = await probeVideo(path);
  const idx = getFrameIndices({ numFrames, fps, numSegments: Math.min(count, numFrames) });
  return { images: idx.map((i) => () => loadVideoFrame(path, Math.min(Math.max(i, 0), numFrames - 1))) };
}
