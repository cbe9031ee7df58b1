/**
 * Image decoding with sharp, then conversion to 8-bit RGB with Pillow's `convert('RGB')` semantics
 * (alpha dropped, never composited; gray replicated; palette expanded; no EXIF rotation; no ICC transform).
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import sharp, { type Sharp, type SharpOptions } from 'sharp';
import { MinivlError, fail } from '../errors.ts';
import { readGifFirstFrameInfo } from './gif.ts';
import type { RgbImage } from './types.ts';

/** Pillow refuses images above 2 x MAX_IMAGE_PIXELS (DecompressionBombError); we use the same limit. */
export const MAX_IMAGE_PIXELS = 2 * 89478485;

/** Where an image came from, for error messages. */
export function describeSource(src: string | Uint8Array): string {
  return typeof src === 'string' ? src : `<${src.length}-byte buffer>`;
}

function readFailure(src: string, e: unknown): never {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
  fail(`cannot read image ${src}: ${why}`);
}

/**
 * Checks that an image path names a regular file, so callers can fail before slow work, and so a
 * device or pipe (/dev/zero, a FIFO) is refused instead of read forever.
 */
export function checkImageFile(src: string): void {
  let st;
  try {
    st = statSync(src);
  } catch (e) {
    readFailure(src, e);
  }
  if (st.isDirectory()) fail(`cannot read image ${src}: is a directory`);
  if (!st.isFile()) fail(`cannot read image ${src}: not a regular file`);
}

/** Reads a file or passes a buffer through, with one-line errors. */
export async function readSource(src: string | Uint8Array): Promise<Uint8Array> {
  let buf: Uint8Array;
  if (typeof src === 'string') {
    checkImageFile(src);
    try {
      buf = await readFile(src);
    } catch (e) {
      readFailure(src, e);
    }
  } else {
    buf = src;
  }
  if (buf.length === 0) fail(`cannot decode image ${describeSource(src)}: empty (0 bytes)`);
  return buf;
}

/** sharp options shared by all decodes: keep stored pixels (no ICC, no EXIF orientation), fail on corrupt data. */
export function sharpInput(buf: Uint8Array, extra: SharpOptions = {}): Sharp {
  return sharp(buf, { ignoreIcc: true, autoOrient: false, failOn: 'error', limitInputPixels: MAX_IMAGE_PIXELS, ...extra });
}

/** Turns a sharp/libvips error into one line naming the input. */
export function decodeError(src: string | Uint8Array, e: unknown): MinivlError {
  if (e instanceof MinivlError) return e;
  let msg = String((e as Error)?.message ?? e).split('\n').map((s) => s.trim()).filter(Boolean).join('; ');
  if (/pixel limit/i.test(msg)) msg = `image is larger than the ${MAX_IMAGE_PIXELS}-pixel limit`;
  else if (/unsupported image format/i.test(msg)) msg = 'not a supported image (JPEG, PNG, WebP, GIF, ...)';
  // Any other decoder failure comes after the format was recognized: the file is damaged. libvips'
  // own words ('vipspng: libpng read error') do not say so, so say it first and keep them for detail.
  else msg = `corrupt or truncated image file (${msg.replace(/:$/, '')})`;
  return new MinivlError(`cannot decode image ${describeSource(src)}: ${msg}`);
}

/** Pillow's CMYK -> RGB (Convert.c `cmyk2rgb`): R = nk - MULDIV255(C, nk) with nk = 255 - K. */
function muldiv255(a: number, b: number): number {
  const t = a * b + 128;
  return (t + (t >> 8)) >> 8;
}

/**
 * Converts interleaved decoded samples to RGB like Pillow's convert('RGB').
 * channels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA or CMYK (when `cmyk`).
 */
export function toRgb(data: Uint8Array, width: number, height: number, channels: number, cmyk = false): Uint8Array {
  const n = width * height;
  // A plain Uint8Array view (not sharp's Buffer, whose slice() would not copy).
  if (channels === 3) return new Uint8Array(data.buffer, data.byteOffset, n * 3);
  const out = new Uint8Array(n * 3);
  if (cmyk && channels === 4) {
    for (let i = 0, p = 0; i < n; i++, p += 4) {
      const nk = 255 - data[p + 3]!;
      out[i * 3] = nk - muldiv255(data[p]!, nk);
      out[i * 3 + 1] = nk - muldiv255(data[p + 1]!, nk);
      out[i * 3 + 2] = nk - muldiv255(data[p + 2]!, nk);
    }
    return out;
  }
  if (channels === 1 || channels === 2) {
    for (let i = 0, p = 0; i < n; i++, p += channels) {
      const v = data[p]!;
      out[i * 3] = v;
      out[i * 3 + 1] = v;
      out[i * 3 + 2] = v;
    }
    return out;
  }
  for (let i = 0, p = 0; i < n; i++, p += channels) {
    out[i * 3] = data[p]!;
    out[i * 3 + 1] = data[p + 1]!;
    out[i * 3 + 2] = data[p + 2]!;
  }
  return out;
}

/** Decodes the first frame/page of an encoded image into Pillow-equivalent RGB. */
export async function decodeRgb(buf: Uint8Array, src: string | Uint8Array): Promise<RgbImage> {
  try {
    const meta = await sharpInput(buf).metadata();
    const width = meta.width ?? 0;
    const height = meta.height ?? 0;
    if (!(width > 0 && height > 0)) fail(`cannot decode image ${describeSource(src)}: it has no pixels (${width}x${height})`);
    if (meta.space === 'cmyk') {
      // Keep the stored CMYK values (sharp would otherwise convert through a colour profile) and apply
      // Pillow's formula ourselves.
      const { data, info } = await sharpInput(buf).pipelineColourspace('cmyk').toColourspace('cmyk').raw().toBuffer({ resolveWithObject: true });
      return { width: info.width, height: info.height, data: toRgb(data, info.width, info.height, info.channels, true) };
    }
    if (meta.depth === 'ushort' && meta.channels === 1) {
      // Pillow opens 16-bit gray as mode I and convert('RGB') clips to 255 (it does not scale), whereas
      // libvips scales by 1/256; take the 16-bit samples and clip like Pillow.
      const { data, info } = await sharpInput(buf).pipelineColourspace('grey16').toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
      const n = info.width * info.height;
      // Native-endian samples; copy first if the view would be misaligned.
      const u16 = data.byteOffset % 2 === 0 ? new Uint16Array(data.buffer, data.byteOffset, n) : new Uint16Array(Uint8Array.from(data).buffer, 0, n);
      const g = new Uint8Array(u16.length);
      for (let i = 0; i < g.length; i++) g[i] = u16[i]! > 255 ? 255 : u16[i]!;
      return { width: info.width, height: info.height, data: toRgb(g, info.width, info.height, 1) };
    }
    // 16-bit RGB(A) / LA become 8-bit by taking the high byte, as Pillow's ";16B" unpackers do.
    const { data, info } = await sharpInput(buf).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (meta.format === 'gif' && info.channels === 4) restoreGifTransparentColour(buf, data, info.width * info.height);
    return { width: info.width, height: info.height, data: toRgb(data, info.width, info.height, info.channels) };
  } catch (e) {
    throw decodeError(src, e);
  }
}

/** Pillow keeps transparent GIF pixels as their palette colour; sharp makes them transparent black. */
function restoreGifTransparentColour(buf: Uint8Array, rgba: Uint8Array, n: number): void {
  const info = readGifFirstFrameInfo(buf);
  if (!info) return;
  const idx = info.transparentIndex ?? 0;
  const pal = info.palette;
  const r = pal[idx * 3] ?? 0;
  const g = pal[idx * 3 + 1] ?? 0;
  const b = pal[idx * 3 + 2] ?? 0;
  for (let i = 0, p = 0; i < n; i++, p += 4) {
    if (rgba[p + 3] === 0) {
      rgba[p] = r;
      rgba[p + 1] = g;
      rgba[p + 2] = b;
    }
  }
}

/** Decodes a file path or an encoded buffer (JPEG, PNG, WebP, GIF first frame, ...) to RGB. */
export async function loadImage(pathOrBuffer: string | Uint8Array): Promise<RgbImage> {
  const buf = await readSource(pathOrBuffer);
  return decodeRgb(buf, pathOrBuffer);
}
