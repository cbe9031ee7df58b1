/**
 * The converted-weight cache: per (checkpoint folder, precision, quantization policy) one entry
 * `<root>/<key>/` holding `weights.bin` (the tensors of the vision and decoder graphs, at the offsets
 * of a ConvertedWeightSource plan; ORT maps it as external data) and `manifest.json` (what it was made
 * from, the plan and the sha256 of weights.bin).
 *
 * An entry is used only when its manifest matches exactly: same minivl version and cache format, same
 * checkpoint fingerprint (files' names, sizes, mtimes, headers), same precision and plan, and a
 * weights.bin of the planned size whose sha256 matches. Anything else (stale, truncated, flipped bytes,
 * a half-written entry) is rebuilt in place. Entries are built in a temporary folder and renamed into
 * place, so a crash never leaves a partial entry under the final name.
 */
import { createHash } from 'node:crypto';
import { createReadStream, type Dirent } from 'node:fs';
import { mkdir, open, readdir, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Checkpoint } from '../io/checkpoint.ts';
import { f32ToF16 } from '../io/dtype.ts';
import { writeFully } from '../io/atomic-write.ts';
import { errnoCode, fail } from '../errors.ts';
import { ConvertedWeightSource, WEIGHTS_FILE, type PlanEntry } from './converted-weights.ts';
import type { Precision, QuantPolicy } from './precision.ts';
import { quantizeChannels, quantizeMatrix, rotateColumns } from './quantize.ts';

export const MANIFEST_FILE = 'manifest.json';
/** Bumped whenever the bytes written for the same plan change (quantizer, layout). */
export const CACHE_FORMAT = 1;
export const MINIVL_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** `<minivl cache root>/converted`: MINIVL_CACHE → $XDG_CACHE_HOME/minivl → ~/.cache/minivl (as the hub cache). */
export function defaultWeightCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.MINIVL_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'minivl');
  return join(root, 'converted');
}

export interface Manifest {
  format: number;
  minivl: string;
  precision: Precision;
  policy: QuantPolicy;
  /** The checkpoint folder's real path and fingerprint when the entry was made. */
  checkpoint: string;
  fingerprint: string;
  created: string;
  size: number;
  sha256: string;
  entries: PlanEntry[];
}

/**
 * The entry folder of a checkpoint at a precision (the same folder is rebuilt when stale). `graphs`:
 * which graphs read it — a decoder-only entry (the int8 prefill copy, model.ts) holds other tensors than
 * a whole model's of the same policy, so it gets its own key instead of rebuilding that one each time.
 */
export async function cacheEntryDir(root: string, ckpt: Checkpoint, precision: Precision, policy: QuantPolicy, graphs: 'all' | 'decoder' = 'all'): Promise<string> {
  const real = await realpath(ckpt.dir).catch(() => ckpt.dir);
  const key = createHash('sha256').update(JSON.stringify(graphs === 'all' ? [real, precision, policy] : [real, precision, policy, graphs])).digest('hex').slice(0, 20);
  return join(root, `${precision}-${key}`);
}

export interface EnsureResult {
  dir: string;
  /** True when the entry was (re)built in this call. */
  built: boolean;
  /** Why it was built: 'missing', 'stale: ...', 'corrupt: ...'. */
  reason?: string;
  /** Seconds spent checking (hash) and, when built, converting. */
  verifySeconds: number;
  buildSeconds: number;
}

export interface EnsureOptions {
  /** Progress lines (conversion is slow: minutes for a 4B model). */
  log?: (msg: string) => void;
  /** What the entry holds, for those lines (default: the precision). */
  what?: string;
}

/**
 * Makes sure the cache entry behind `source` (its externalFolder) holds exactly its plan for `ckpt`,
 * converting from the checkpoint when it does not.
 */
export async function ensureConverted(ckpt: Checkpoint, source: ConvertedWeightSource, opts: EnsureOptions = {}): Promise<EnsureResult> {
  const dir = source.externalFolder;
  const plan = source.plan();
  const fingerprint = await ckpt.fingerprint();
  const checkpoint = await realpath(ckpt.dir).catch(() => ckpt.dir);
  const want = { format: CACHE_FORMAT, minivl: MINIVL_VERSION, precision: source.precision, policy: source.policy, checkpoint, fingerprint, size: plan.size, entries: plan.entries };
  const t0 = performance.now();
  const problem = await checkEntry(dir, want);
  const verifySeconds = (performance.now() - t0) / 1000;
  if (problem === null) return { dir, built: false, verifySeconds, buildSeconds: 0 };
  opts.log?.(`minivl: converting weights to ${opts.what ?? source.precision} (${problem}) into ${dir}`);
  const t1 = performance.now();
  await buildEntry(ckpt, dir, want, opts.log);
  return { dir, built: true, reason: problem, verifySeconds, buildSeconds: (performance.now() - t1) / 1000 };
}

type Wanted = Omit<Manifest, 'created' | 'sha256'>;

/** null when the entry is usable, else why not. */
async function checkEntry(dir: string, want: Wanted): Promise<string | null> {
  let m: Manifest;
  try {
    m = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'missing' : `corrupt: unreadable manifest (${code ?? 'invalid JSON'})`;
  }
  if (m.format !== want.format || m.minivl !== want.minivl) return `stale: made by minivl ${m.minivl} (cache format ${m.format})`;
  if (m.fingerprint !== want.fingerprint) return 'stale: the checkpoint changed';
  if (m.precision !== want.precision || JSON.stringify(m.policy) !== JSON.stringify(want.policy)) return 'stale: other precision settings';
  if (m.size !== want.size || JSON.stringify(m.entries) !== JSON.stringify(want.entries)) return 'stale: the graphs need other tensors';
  let size: number;
  try {
    size = (await stat(join(dir, WEIGHTS_FILE))).size;
  } catch (e) {
    return `corrupt: ${WEIGHTS_FILE} ${errnoCode(e)}`;
  }
  if (size !== want.size) return `corrupt: ${WEIGHTS_FILE} has ${size} bytes, expected ${want.size}`;
  if ((await sha256File(join(dir, WEIGHTS_FILE))) !== m.sha256) return `corrupt: ${WEIGHTS_FILE} does not match its hash`;
  return null;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 8 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Converts every planned tensor, in file order, streaming (one tensor in memory at a time). */
async function buildEntry(ckpt: Checkpoint, dir: string, want: Wanted, log?: (msg: string) => void): Promise<void> {
  const root = join(dir, '..');
  await mkdir(root, { recursive: true }).catch((e) => fail(`${root}: cannot create the weight cache (${errnoCode(e)})`));
  const tmp = join(root, `.tmp-${want.precision}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  try {
    const h = createHash('sha256');
    const fh = await open(join(tmp, WEIGHTS_FILE), 'wx');
    let pos = 0;
    const put = async (offset: number, bytes: Uint8Array) => {
      if (offset < pos) throw new Error(`weight cache plan overlaps at ${offset}`);
      if (offset > pos) {
        const pad = new Uint8Array(offset - pos);
        h.update(pad);
        await writeFully(fh, pad);
      }
      h.update(bytes);
      await writeFully(fh, bytes);
      pos = offset + bytes.byteLength;
    };
    try {
      let done = 0;
      let lastLog = performance.now();
      for (const e of want.entries) {
        await writeEntry(ckpt, e, put);
        done++;
        if (log && performance.now() - lastLog > 5000) {
          log(`minivl: converted ${done}/${want.entries.length} tensors`);
          lastLog = performance.now();
        }
      }
      if (pos !== want.size) throw new Error(`weight cache: wrote ${pos} bytes, planned ${want.size}`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    const manifest: Manifest = { ...want, created: new Date().toISOString(), sha256: h.digest('hex') };
    const mh = await open(join(tmp, MANIFEST_FILE), 'wx');
    try {
      await writeFully(mh, new TextEncoder().encode(`${JSON.stringify(manifest)}\n`));
      await mh.sync();
    } finally {
      await mh.close();
    }
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    if ((e as NodeJS.ErrnoException).code) fail(`${dir}: cannot write the converted weights (${errnoCode(e)})`);
    throw e;
  }
}

async function writeEntry(ckpt: Checkpoint, e: PlanEntry, put: (offset: number, bytes: Uint8Array) => Promise<void>): Promise<void> {
  const u8 = (a: Float32Array | Uint16Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (e.kind) {
    case 'copy':
      return put(e.offset, await ckpt.readBytes(e.name));
    case 'f16':
      return put(e.offset, u8(f32ToF16(await ckpt.readFloat32(e.name))));
    case 'quant': {
      const q = quantizeMatrix(await ckpt.readFloat32(e.name), e.n, e.k, e.bits, e.blockSize);
      await put(e.packedOffset, q.packed);
      return put(e.scalesOffset, u8(q.scales));
    }
    case 'qchannels': {
      const w = await ckpt.readFloat32(e.name);
      const q = quantizeChannels(e.rotate ? rotateColumns(w, e.n, e.k, e.rotate) : w, e.n, e.k);
      await put(e.weightsOffset, new Uint8Array(q.weights.buffer, q.weights.byteOffset, q.weights.byteLength));
      return put(e.scalesOffset, u8(q.scales));
    }
  }
}

export interface CacheListing {
  key: string;
  dir: string;
  /** null when the manifest is missing or unreadable (a broken entry: `cache rm` it). */
  manifest: Omit<Manifest, 'entries'> | null;
  /** Bytes on disk (weights.bin + manifest). */
  bytes: number;
}

/** The entries under `root` (none when it does not exist). Half-written temporary folders are listed too. */
export async function listWeightCache(root: string): Promise<CacheListing[]> {
  let dirents: Dirent[];
  try {
    dirents = await readdir(root, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    fail(`${root}: cannot read the weight cache (${errnoCode(e)})`);
  }
  const out: CacheListing[] = [];
  for (const d of dirents.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = join(root, d.name);
    let manifest: CacheListing['manifest'] = null;
    try {
      const { entries: _entries, ...rest } = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
      manifest = rest;
    } catch {
      manifest = null;
    }
    let bytes = 0;
    for (const f of await readdir(dir)) bytes += (await stat(join(dir, f)).catch(() => ({ size: 0 }))).size;
    out.push({ key: d.name, dir, manifest, bytes });
  }
  return out;
}

/** Removes entries by key (as `listWeightCache` names them); returns the keys removed. Unknown keys are an error. */
export async function removeWeightCache(root: string, keys: readonly string[] | 'all'): Promise<string[]> {
  const have = await listWeightCache(root);
  const names = new Set(have.map((e) => e.key));
  const targets = keys === 'all' ? [...names] : [...keys];
  for (const k of targets) {
    if (!names.has(k)) fail(`no weight cache entry '${k}' in ${root} (see minivl cache ls)`);
  }
  for (const k of targets) await rm(join(root, k), { recursive: true, force: true });
  return targets;
}
