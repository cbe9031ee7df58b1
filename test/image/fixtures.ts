/** Tiny hand-built image files for decoder edge cases (PNG colour types / bit depths the golden set lacks). */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * Encodes a PNG. `samples` are row-major, `channels` per pixel, big-endian 16-bit when bitDepth is 16.
 * colorType: 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA.
 */
export function encodePng(opts: {
  width: number; height: number; colorType: 0 | 2 | 3 | 4 | 6; bitDepth: 1 | 2 | 4 | 8 | 16;
  samples: number[]; palette?: number[]; trns?: number[];
}): Buffer {
  const { width, height, colorType, bitDepth, samples } = opts;
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType];
  const stride = Math.ceil((width * channels * bitDepth) / 8);
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter type None
    for (let i = 0; i < width * channels; i++) {
      const v = samples[y * width * channels + i]!;
      const row = y * (stride + 1) + 1;
      if (bitDepth === 16) raw.writeUInt16BE(v, row + i * 2);
      else if (bitDepth === 8) raw[row + i] = v;
      else {
        // Sub-byte samples are packed most significant bits first.
        const bit = i * bitDepth;
        raw[row + (bit >> 3)]! |= v << (8 - bitDepth - (bit & 7));
      }
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colorType;
  const parts = [Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr)];
  if (opts.palette) parts.push(chunk('PLTE', Uint8Array.from(opts.palette)));
  if (opts.trns) parts.push(chunk('tRNS', Uint8Array.from(opts.trns)));
  parts.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

/** Deterministic pseudo-random sample values (LCG) so fixtures need no stored files. */
export function pseudoRandom(n: number, max: number, seed = 1): number[] {
  const out: number[] = [];
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(s % (max + 1));
  }
  return out;
}
