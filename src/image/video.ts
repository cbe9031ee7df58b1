/**
 * Video input as in the model card's `load_video`: pick `numSegments` frame indices with `get_index`, then each
 * frame becomes exactly one 448x448 tile (`dynamic_preprocess(max_num=1)`). No container decoding (no ffmpeg):
 * frames come from an animated GIF/WebP (decoded by sharp, frames composited as a player shows them) or
 * from a list of still images.
 */
import { fail } from '../errors.ts';
import { decodeError, decodeRgb, describeSource, readSource, sharpInput, toRgb } from './decode.ts';
import type { RgbImage } from './types.ts';

/** Python's `round` / `np.round`: nearest, ties to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; move exact ties to the even neighbour.
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * `get_index(bound, fps, max_frame, first_idx, num_segments)`: frame indices sampled from the middle of
 * `numSegments` equal segments. `bound` is [start, end] in seconds (null: the whole video).
 */
export function getFrameIndices(opts: { numFrames: number; fps: number; numSegments?: number; bound?: [number, number] | null; firstIdx?: number }): number[] {
  const { numFrames, fps } = opts;
  const numSegments = opts.numSegments ?? 32;
  const firstIdx = opts.firstIdx ?? 0;
  if (!Number.isInteger(numFrames) || numFrames < 1) fail(`video has no frames (${numFrames})`);
  if (!Number.isInteger(numSegments) || numSegments < 1) fail(`num_segments must be a positive integer, got ${numSegments}`);
  if (!(fps > 0) || !Number.isFinite(fps)) fail(`video fps must be a positive number, got ${fps}`);
  const maxFrame = numFrames - 1;
  const [start, end] = opts.bound ?? [-100000, 100000];
  const startIdx = Math.max(firstIdx, roundHalfEven(start * fps));
  const endIdx = Math.min(roundHalfEven(end * fps), maxFrame);
  const seg = (endIdx - startIdx) / numSegments;
  const out: number[] = [];
  for (let k = 0; k < numSegments; k++) out.push(Math.trunc(startIdx + seg / 2 + roundHalfEven(seg * k)));
  return out;
}

/** Frame source: an animated GIF/WebP (path or bytes), or a list of still frames in order. */
export type VideoSource = string | Uint8Array | Array<string | Uint8Array>;

/** Frame count and average frame rate of a source (frame lists use `fps`, default 1). */
export async function probeVideo(src: VideoSource, fps = 1): Promise<{ numFrames: number; fps: number }> {
  if (Array.isArray(src)) return { numFrames: src.length, fps };
  const buf = await readSource(src);
  try {
    const meta = await sharpInput(buf).metadata();
    const numFrames = meta.pages ?? 1;
    // Average fps as a video decoder reports it. Like ffmpeg's GIF demuxer, delays under 20 ms count as
    // 100 ms (players do the same); a still image (no delays) uses the caller's fps.
    const delays: number[] = (meta.delay ?? []).map((d: number) => (d < 20 ? 100 : d));
    const total = delays.reduce((a, b) => a + b, 0);
    return { numFrames, fps: total > 0 ? (1000 * delays.length) / total : fps };
  } catch (e) {
    throw decodeError(src, e);
  }
}

/** Decodes frame `index` of a source as RGB (animated frames keep the composited colour; alpha dropped). */
export async function loadVideoFrame(src: VideoSource, index: number): Promise<RgbImage> {
  if (Array.isArray(src)) {
    const f = src[index] ?? fail(`frame ${index} is out of range (${src.length} frames)`);
    return decodeRgb(await readSource(f), f);
  }
  const buf = await readSource(src);
  try {
    const { data, info } = await sharpInput(buf, { page: index, pages: 1 }).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data: toRgb(data, info.width, info.height, info.channels) };
  } catch (e) {
    throw decodeError(`${describeSource(src)} frame ${index}` as string, e);
  }
}
