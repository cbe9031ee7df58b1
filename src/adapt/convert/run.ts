/**
 * The file layer around a converter: refuses an existing output unless `force`, runs the converter,
 * writes the JSONL atomically and summarises what happened (converted, skipped by reason with
 * locations, fixed, throughput, and a meta entry that points at the output).
 */
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fail } from '../../errors.ts';
import { writeTextAtomic } from '../../io/atomic-write.ts';
import { recordToLine } from '../format/record.ts';
import { CONVERTERS } from './registry.ts';
import type { ConvertContext, Skip } from './types.ts';

export interface RunConverterOptions extends Omit<ConvertContext, 'onProgress'> {
  onProgress?: (done: number, total?: number) => void;
  /** Called for every skipped source record (the CLI prints them). */
  onSkip?: (s: Skip) => void;
}

export interface ConvertSummary {
  from: string;
  in: string;
  out: string;
  source_records: number;
  converted: number;
  skipped: number;
  skipped_by_reason: Record<string, number>;
  /** The first skipped records with their locations (all are counted in `skipped`). */
  skipped_examples: Skip[];
  fixed: number;
  fixed_examples: Array<{ location: string; note: string }>;
  images_written?: number;
  seconds: number;
  source_records_per_s: number;
  /** A meta-file entry for the output (repeat_time 1; edit as needed). */
  meta: Record<string, { root: string; annotation: string; data_augment: boolean; repeat_time: number; length: number }>;
}

export async function runConverter(from: string, opts: RunConverterOptions): Promise<ConvertSummary> {
  const conv = CONVERTERS[from] ?? fail(`unknown source '${from}' (known: ${Object.keys(CONVERTERS).join(', ')})`);
  if (!opts.out.endsWith('.jsonl')) fail(`--out ${opts.out}: must end in .jsonl (the trainer asserts it)`);
  if (existsSync(opts.out) && !opts.force) fail(`--out ${opts.out} exists; pass --force to replace it`);
  if (!existsSync(opts.input)) fail(`--in ${opts.input}: no such file or folder`);
  const t0 = performance.now();
  const r = await conv.convert(opts);
  for (const s of r.skipped) opts.onSkip?.(s);
  const lines = r.records.map((rec) => `${recordToLine(rec)}\n`).join('');
  await writeTextAtomic(opts.out, lines);
  const seconds = (performance.now() - t0) / 1000;
  const byReason: Record<string, number> = {};
  for (const s of r.skipped) byReason[s.reason] = (byReason[s.reason] ?? 0) + 1;
  const name = basename(opts.out).replace(/\.jsonl$/, '');
  // With --image-prefix naming the images folder itself (e.g. 'DIOR-RSVG/'), the meta root is its parent.
  let root = resolve(r.root);
  const prefix = (opts.flags.imagePrefix ?? '').replace(/\/+$/, '');
  if (prefix && root.endsWith(`/${prefix}`)) root = root.slice(0, -prefix.length - 1) || '/';
  return {
    from,
    in: opts.input,
    out: opts.out,
    source_records: r.sourceRecords,
    converted: r.records.length,
    skipped: r.skipped.length,
    skipped_by_reason: byReason,
    skipped_examples: r.skipped.slice(0, 20),
    fixed: r.fixed.length,
    fixed_examples: r.fixed.slice(0, 20),
    ...(r.written !== undefined ? { images_written: r.written } : {}),
    seconds: Number(seconds.toFixed(3)),
    source_records_per_s: Number((r.sourceRecords / Math.max(seconds, 1e-9)).toFixed(1)),
    meta: { [name]: { root, annotation: resolve(opts.out), data_augment: false, repeat_time: 1, length: r.records.length } },
  };
}
