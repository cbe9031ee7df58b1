/**
 * What `src/runtime/weight-cache.ts` becomes in the page (web/build.mjs maps it here): the int4
 * conversion done in the tab, one converted file at a time (web/converted-weights.ts plans them),
 * each kept in the Origin Private File System under a key of the checkpoint's fingerprint, precision
 * and policy, and handed to onnxruntime-web as its own external-data file (web/ort.ts). A file is
 * built from the checkpoint's tensors read one by one (HTTP Range reads or the picked File's slices),
 * so the bf16 checkpoint is never held whole; the converted files are dropped from JS once the
 * sessions exist (web/platform.ts), leaving the weights only where ONNX Runtime put them.
 */
import type { Checkpoint } from '../src/io/checkpoint.ts';
import { host } from '../src/host/platform.ts';
import type { Precision, QuantPolicy } from '../src/runtime/precision.ts';
import { quantizeMatrix } from '../src/runtime/quantize.ts';
import { ConvertedWeightSource, fileName, type PlanEntry } from './converted-weights.ts';
import { externalFiles } from './ort.ts';
import { opfsGet, opfsPut } from './opfs.ts';

/** Bumped whenever the converted bytes of the same plan change. */
const FORMAT = 'int4-web v1';

export interface EnsureResult {
  dir: string;
  built: boolean;
  reason?: string;
  verifySeconds: number;
  buildSeconds: number;
}

export const defaultWeightCacheRoot = (): string => 'opfs';

export async function cacheEntryDir(_root: string, ckpt: Checkpoint, precision: Precision, policy: QuantPolicy): Promise<string> {
  return `converted://${precision}-${(await host.sha256([FORMAT, ckpt.dir, JSON.stringify(policy)])).slice(0, 20)}`;
}

/** Where the last load's converted files came from (the page shows it). */
export const lastConversion = { files: 0, largestBytes: 0, source: '' as 'converted' | 'opfs-cache' | '' };

async function buildFile(ckpt: Checkpoint, entries: PlanEntry[], size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  for (const e of entries) {
    const w = await ckpt.readFloat32(e.name);
    if (e.kind === 'f32') {
      out.set(new Uint8Array(w.buffer, w.byteOffset, w.byteLength), e.offset);
      continue;
    }
    const q = quantizeMatrix(w, e.n, e.k, e.bits, e.blockSize);
    out.set(q.packed, e.packedOffset);
    out.set(new Uint8Array(q.scales.buffer, q.scales.byteOffset, q.scales.byteLength), e.scalesOffset);
  }
  return out;
}

export async function ensureConverted(ckpt: Checkpoint, source: ConvertedWeightSource, opts: { log?: (msg: string) => void } = {}): Promise<EnsureResult> {
  const { entries, sizes } = source.plan();
  const key = await host.sha256([FORMAT, await ckpt.fingerprint(), source.precision, JSON.stringify(source.policy), JSON.stringify(entries)]);
  const t0 = performance.now();
  let built = false;
  Object.assign(lastConversion, { files: sizes.length, largestBytes: Math.max(...sizes), source: '' });
  for (let i = 0; i < sizes.length; i++) {
    const k = `${key}-${i}`;
    let bytes = await opfsGet(k);
    if (!bytes) {
      opts.log?.(`minivl: converting weights to ${source.precision}, file ${i + 1}/${sizes.length}`);
      bytes = await buildFile(ckpt, entries.filter((e) => e.file === i), sizes[i]!);
      await opfsPut(k, bytes);
      built = true;
    }
    externalFiles.set(fileName(i), bytes);
  }
  lastConversion.source = built ? 'converted' : 'opfs-cache';
  const s = (performance.now() - t0) / 1000;
  return { dir: source.externalFolder, built, verifySeconds: built ? 0 : s, buildSeconds: built ? s : 0 };
}
