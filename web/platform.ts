/**
 * What `src/host/platform.ts` becomes in the page (web/build.mjs maps it here): the browser host of
 * the core (fetch, HTTP Range reads, the browser's image decoder) plus
 *  - folders the user picked (`<input webkitdirectory>`), addressed as `picked://NAME/...`, read
 *    from their File objects;
 *  - the engine: fp32 — the checkpoint's safetensors files are fetched once, widened bf16 → float32
 *    (web/convert.ts says why), kept in the Origin Private File System (keyed by URL, size and
 *    Last-Modified) and handed to onnxruntime-web (web/ort.ts); a second visit reads the converted
 *    files from disk instead of the network. While a model loads, the core reads those converted
 *    files (headers, offsets) in place of the originals, so its graphs match the bytes ORT holds.
 *    int4 — the core converts tensor by tensor from the original files into int4 files of ≤ 1 GiB
 *    (web/weight-cache.ts, also kept in OPFS): the 4B model fits the tab's 4 GiB WASM memory.
 *  Either way the weight files leave JS once the sessions exist: ONNX Runtime holds the only copy.
 */
import { host as browserHost } from '../src/host/browser.ts';
import type { FileStat, Host, HostFiles, RandomAccessFile } from '../src/host/types.ts';
import { Model } from '../src/runtime/model.ts';
import { externalFiles } from './ort.ts';
import { widenBf16 } from './convert.ts';
import { opfsGet, opfsPut } from './opfs.ts';
import { lastConversion } from './weight-cache.ts';

const PICKED = 'picked://';
const picked = new Map<string, File>();

/** Registers the files of a picked folder; returns the folder's path (`picked://NAME`). */
export function pickFolder(files: Iterable<File>): string {
  let top = '';
  for (const f of files) {
    const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
    top ||= rel.split('/')[0]!;
    picked.set(`${PICKED}${rel}`, f);
  }
  if (!top) throw new Error('the picked folder is empty');
  return `${PICKED}${top}`;
}

const stat = (size: number, file: boolean, mtimeMs = 0): FileStat => ({ size, mtimeMs, isFile: () => file, isDirectory: () => !file });
const enoent = (p: string) => Object.assign(new Error(`${p}: not found`), { code: 'ENOENT' });
const pickedFile = (p: string) => picked.get(p.replace(/\/+$/, '')) ?? null;

/** Converted weight files, served instead of the originals (path → bytes). */
const converted = new Map<string, Uint8Array>();

const memFile = (b: Uint8Array): RandomAccessFile => ({
  async read(target, offset, length, position) {
    const s = b.subarray(position, position + length);
    target.set(s, offset);
    return { bytesRead: s.length };
  },
  stat: async () => stat(b.length, true),
  close: async () => {},
});

const files: HostFiles = {
  ...browserHost.files,
  async readFile(p) {
    const c = converted.get(p);
    if (c) return c;
    const f = p.startsWith(PICKED) ? pickedFile(p) ?? Promise.reject(enoent(p)) : null;
    return f ? new Uint8Array(await (await f).arrayBuffer()) : browserHost.files.readFile(p);
  },
  async readTextFile(p) {
    return p.startsWith(PICKED) ? new TextDecoder().decode(await files.readFile(p)) : browserHost.files.readTextFile(p);
  },
  async stat(p) {
    const c = converted.get(p);
    if (c) return stat(c.length, true);
    if (!p.startsWith(PICKED)) return browserHost.files.stat(p);
    const f = pickedFile(p);
    if (f) return stat(f.size, true, f.lastModified);
    const dir = p.replace(/\/+$/, '') + '/';
    if ([...picked.keys()].some((k) => k.startsWith(dir))) return stat(0, false);
    throw enoent(p);
  },
  async open(p): Promise<RandomAccessFile> {
    const c = converted.get(p);
    if (c) return memFile(c);
    if (!p.startsWith(PICKED)) return browserHost.files.open(p);
    const f = pickedFile(p);
    if (!f) throw enoent(p);
    return {
      async read(target, offset, length, position) {
        const b = new Uint8Array(await f.slice(position, position + length).arrayBuffer());
        target.set(b, offset);
        return { bytesRead: b.length };
      },
      stat: async () => stat(f.size, true, f.lastModified),
      close: async () => {},
    };
  },
};

/** Where the last load's weights came from (shown by the page). */
export const lastLoad = { weightSource: '' as 'network' | 'opfs-cache' | 'picked-folder' | '' };

/** The converted bytes of one weight file: a picked file converted in memory; a URL through the OPFS cache. */
async function weightBytes(path: string): Promise<Uint8Array> {
  if (path.startsWith(PICKED)) {
    lastLoad.weightSource = 'picked-folder';
    return widenBf16(await files.readFile(path));
  }
  const st = await browserHost.files.stat(path);
  const key = await browserHost.sha256(['bf16-to-f32 v1', path, String(st.size), String(st.mtimeMs)]);
  const cached = await opfsGet(key);
  if (cached) {
    lastLoad.weightSource = 'opfs-cache';
    return cached;
  }
  const bytes = widenBf16(await browserHost.files.readFile(path));
  lastLoad.weightSource = 'network';
  await opfsPut(key, bytes);
  return bytes;
}

/** The safetensors files of a checkpoint folder: the index's shards, or model.safetensors. */
async function weightFiles(dir: string): Promise<string[]> {
  try {
    const index = JSON.parse(await files.readTextFile(`${dir}/model.safetensors.index.json`)) as { weight_map?: Record<string, string> };
    return [...new Set(Object.values(index.weight_map ?? {}))];
  } catch {
    return ['model.safetensors'];
  }
}

export const host: Host = {
  ...browserHost,
  files,
  async loadModel(dir, opts = {}) {
    externalFiles.clear();
    converted.clear();
    const base = dir.replace(/\/+$/, '');
    // int4: the core converts from the original files itself (web/weight-cache.ts).
    if ((opts.dtype ?? 'fp32') === 'fp32') {
      for (const name of await weightFiles(base)) {
        const bytes = await weightBytes(`${base}/${name}`);
        externalFiles.set(name, bytes);
        converted.set(`${base}/${name}`, bytes);
      }
    } else {
      lastLoad.weightSource = base.startsWith(PICKED) ? 'picked-folder' : 'network';
    }
    try {
      const model = await Model.load(base, opts);
      if (lastConversion.source === 'opfs-cache' && !base.startsWith(PICKED) && opts.dtype === 'int4') lastLoad.weightSource = 'opfs-cache';
      return model;
    } finally {
      // The sessions hold the weights now (WASM heap or GPU buffers): no second copy in JS.
      externalFiles.clear();
    }
  },
};
