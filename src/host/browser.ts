/**
 * The browser platform (what platform.ts is mapped to in a browser build): folders are URLs read with
 * fetch (safetensors by HTTP Range requests), images are decoded by the browser, hub ids resolve to
 * the hub's `resolve/<revision>` URLs. Not yet here: the engine (onnxruntime-web with the WebGPU or
 * WASM provider) and writing files; both fail with one clear line.
 */
import { fail } from '../errors.ts';
import type { RgbImage } from '../image/types.ts';
import { posixPath } from './posix-path.ts';
import type { FileStat, Host, HostFiles, RandomAccessFile } from './types.ts';

// The DOM calls this file makes (the project compiles without the DOM lib).
declare const createImageBitmap: (b: Blob) => Promise<{ width: number; height: number; close(): void }>;
declare class OffscreenCanvas {
  constructor(w: number, h: number);
  getContext(kind: '2d'): { drawImage(img: unknown, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}
declare const navigator: { hardwareConcurrency?: number } | undefined;

const HUB = 'https://huggingface.co';

/** A fetch failure as node:fs reports it (a `code`), so the core's messages stay the same. */
function fsError(url: string, status: number): Error {
  return Object.assign(new Error(`${url}: HTTP ${status}`), { code: status === 404 ? 'ENOENT' : `HTTP_${status}` });
}

async function get(url: string, init?: RequestInit): Promise<Response> {
  const r = await fetch(url, init);
  if (!r.ok) throw fsError(url, r.status);
  return r;
}

function statOf(size: number, mtimeMs: number, file: boolean): FileStat {
  return { size, mtimeMs, isFile: () => file, isDirectory: () => !file };
}

const files: HostFiles = {
  readFile: async (url) => new Uint8Array(await (await get(url)).arrayBuffer()),
  readTextFile: async (url) => (await get(url)).text(),
  async stat(url) {
    // A folder URL has no resource of its own; only files answer HEAD.
    if (url.endsWith('/')) return statOf(0, 0, false);
    const r = await fetch(url, { method: 'HEAD' });
    if (r.status === 404) return statOf(0, 0, false);
    if (!r.ok) throw fsError(url, r.status);
    return statOf(Number(r.headers.get('content-length') ?? 0), Date.parse(r.headers.get('last-modified') ?? '') || 0, true);
  },
  realpath: async (url) => url,
  async open(url): Promise<RandomAccessFile> {
    const st = await files.stat(url);
    return {
      async read(target, offset, length, position) {
        const r = await get(url, { headers: { range: `bytes=${position}-${position + length - 1}` } });
        const b = new Uint8Array(await r.arrayBuffer()).subarray(0, length);
        target.set(b, offset);
        return { bytesRead: b.length };
      },
      stat: async () => st,
      close: async () => {},
    };
  },
  writeFileAtomic: async (path) => fail(`${path}: writing files is not supported in the browser`),
};

export const host: Host = {
  name: 'browser',
  files,
  path: posixPath,
  async sha256(parts) {
    const enc = new TextEncoder();
    const chunks = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : p));
    const all = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
    let at = 0;
    for (const c of chunks) (all.set(c, at), (at += c.length));
    const d = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
    return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
  },
  cpuCount: () => (typeof navigator === 'undefined' ? 1 : navigator.hardwareConcurrency ?? 1),
  async decodeImage(src): Promise<RgbImage> {
    const bytes = typeof src === 'string' ? await files.readFile(src) : src;
    const bmp = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]));
    // Read the size before close(): a closed ImageBitmap reports 0 × 0.
    const { width, height } = bmp;
    const ctx = new OffscreenCanvas(width, height).getContext('2d');
    ctx.drawImage(bmp, 0, 0);
    const rgba = ctx.getImageData(0, 0, width, height).data;
    bmp.close();
    const data = new Uint8Array(width * height * 3);
    for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) (data[j] = rgba[i]!), (data[j + 1] = rgba[i + 1]!), (data[j + 2] = rgba[i + 2]!);
    return { width, height, data };
  },
  async resolveModel(dirOrRepo, opts = {}) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(dirOrRepo) || dirOrRepo.startsWith('/')) return dirOrRepo;
    const [repo, rev = opts.revision ?? 'main'] = dirOrRepo.split('@');
    return `${opts.endpoint ?? HUB}/${repo}/resolve/${rev}`;
  },
  loadModel: async (dir) => fail(`${dir}: the browser engine (onnxruntime-web) is not part of this build yet`),
};
