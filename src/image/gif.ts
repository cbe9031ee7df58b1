/**
 * Just enough of the GIF container to reproduce Pillow on the first frame: sharp (libnsgif) turns
 * transparent pixels into transparent black, while Pillow keeps the frame as a palette image, so
 * `convert('RGB')` shows the palette colour of the transparent index there (and of index 0 outside
 * a first frame that does not cover the canvas). We read the palette and that index; pixels come from sharp.
 */

export interface GifFirstFrameInfo {
  /** RGB triples of the palette that frame 0 uses (local table if present, else global). */
  palette: Uint8Array;
  /** Transparent palette index of frame 0, or null. */
  transparentIndex: number | null;
}

/** Returns null if the buffer is not a GIF this parser understands (callers then keep sharp's pixels). */
export function readGifFirstFrameInfo(buf: Uint8Array): GifFirstFrameInfo | null {
  if (buf.length < 13) return null;
  const sig = String.fromCharCode(...buf.subarray(0, 6));
  if (sig !== 'GIF87a' && sig !== 'GIF89a') return null;
  const flags = buf[10]!;
  let p = 13;
  let global: Uint8Array | null = null;
  if (flags & 0x80) {
    const n = 3 * (1 << ((flags & 7) + 1));
    global = buf.subarray(p, p + n);
    p += n;
  }
  let transparentIndex: number | null = null;
  while (p < buf.length) {
    const b = buf[p]!;
    if (b === 0x21) {
      const label = buf[p + 1];
      p += 2;
      if (label === 0xf9 && buf[p] === 4 && p + 4 < buf.length) {
        if (buf[p + 1]! & 1) transparentIndex = buf[p + 4]!;
      }
      // skip data sub-blocks
      while (p < buf.length && buf[p] !== 0) p += buf[p]! + 1;
      p += 1;
    } else if (b === 0x2c) {
      if (p + 10 > buf.length) return null;
      const lflags = buf[p + 9]!;
      let palette = global;
      if (lflags & 0x80) {
        const n = 3 * (1 << ((lflags & 7) + 1));
        palette = buf.subarray(p + 10, p + 10 + n);
      }
      if (!palette) return null;
      return { palette, transparentIndex };
    } else {
      return null;
    }
  }
  return null;
}
