/** Checks on the images an item names, done while reading so that a bad image is reported with its row. */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { ImageRef } from './types.ts';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Why a base64 cell cannot hold an image, or null when it looks valid (decoding happens at run time). */
export function base64Problem(cell: string): string | null {
  const s = cell.replace(/\s+/g, '');
  if (s.length === 0) return 'empty image cell';
  if (!BASE64.test(s) || s.length % 4 === 1) return `image cell is not valid base64 (${s.length} characters starting '${s.slice(0, 16)}')`;
  return null;
}

/**
 * The file an item's relative image path names. The reference resolves paths against its working
 * directory (InternVL's `internvl_chat/`, so JSONL paths start with `data/...`) or an image root; we try
 * the data file's folder, the data folder, its `images/` folder and its parent, in that order.
 */
export function resolveImagePath(rel: string, bases: readonly string[]): string | null {
  if (isAbsolute(rel)) return isFile(rel) ? rel : null;
  for (const b of bases) {
    const p = join(b, rel);
    if (isFile(p)) return p;
  }
  return null;
}

function isFile(p: string): boolean {
  try {
    return existsSync(p) && statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Decoded bytes of an image reference (files are read by the image loader itself). */
export function imageInput(ref: ImageRef): string | Uint8Array {
  return ref.kind === 'file' ? ref.path : new Uint8Array(Buffer.from(ref.data, 'base64'));
}
