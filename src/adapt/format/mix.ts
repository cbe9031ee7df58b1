/**
 * `minivl adapt mix`: a meta file that mixes domain data with general data at a chosen ratio — the
 * maintainers' advice against forgetting general skills (adaptation.md §3, §5: DriveLM general =
 * 0.25 × domain; BDD-X and medical 1 : 1). Domain entries are kept as they are; every general entry
 * gets the same repeat_time r with Σ general lines · r ≈ ratio · Σ domain samples (after their own
 * repeat_time), r < 1 being the trainer's head cut and r > 1 rounded to an integer as it requires.
 */
import { existsSync, readFileSync } from 'node:fs';
import { errnoCode, fail } from '../../errors.ts';
import { writeJsonAtomic } from '../../io/atomic-write.ts';
import { effectiveLineCount, readJsonlLines, readMeta, type DatasetSpec } from './meta.ts';

export interface MixOptions {
  domain: string;
  general: string;
  ratio: number;
  out: string;
  force?: boolean;
  baseDir?: string;
}

export interface MixSummary {
  out: string;
  general_repeat_time: number;
  domain_samples: number;
  general_samples: number;
  /** general_samples / domain_samples as achieved (after floors and integer rounding). */
  achieved_ratio: number;
  datasets: Record<string, { repeat_time: number; lines: number; samples: number }>;
}

/** Line count of a dataset: the file when it is there, else the meta file's `length`. */
function lineCount(ds: DatasetSpec): number {
  if (existsSync(ds.annotationPath)) return readJsonlLines(ds.annotationPath).length;
  if (ds.length !== undefined) return ds.length;
  fail(`${ds.name}: ${ds.annotationPath} is not here and the meta file gives no length to count with`);
}

/** The repeat_time that puts `target` samples from general datasets of `lines` total lines. */
export function generalRepeatTime(target: number, lines: number): number {
  if (lines <= 0) fail('the general meta file has no lines to mix in');
  const r = target / lines;
  if (r <= 1) return Number(r.toPrecision(6));
  return Math.max(1, Math.round(r));
}

export async function writeMix(opts: MixOptions): Promise<MixSummary> {
  if (!(opts.ratio > 0)) fail(`--ratio must be a positive number, got ${opts.ratio}`);
  if (existsSync(opts.out) && !opts.force) fail(`--out ${opts.out} exists; pass --force to replace it`);
  const base = opts.baseDir !== undefined ? { baseDir: opts.baseDir } : {};
  const domain = readMeta(opts.domain, base);
  const general = readMeta(opts.general, base);
  const raw = (path: string) => {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as Record<string, Record<string, unknown>>;
    } catch (e) {
      fail(`${path}: cannot read (${errnoCode(e)})`);
    }
  };
  const domainRaw = raw(opts.domain);
  const generalRaw = raw(opts.general);
  const clash = general.datasets.find((d) => domainRaw[d.name] !== undefined);
  if (clash) fail(`dataset '${clash.name}' is in both meta files (keys must be unique)`);

  const datasets: MixSummary['datasets'] = {};
  let domainSamples = 0;
  for (const d of domain.datasets) {
    const lines = lineCount(d);
    const samples = effectiveLineCount(lines, d.repeatTime);
    domainSamples += samples;
    datasets[d.name] = { repeat_time: d.repeatTime, lines, samples };
  }
  const generalLines = general.datasets.map(lineCount);
  const r = generalRepeatTime(opts.ratio * domainSamples, generalLines.reduce((a, b) => a + b, 0));
  const out: Record<string, Record<string, unknown>> = { ...domainRaw };
  let generalSamples = 0;
  general.datasets.forEach((d, i) => {
    const samples = effectiveLineCount(generalLines[i]!, r);
    generalSamples += samples;
    datasets[d.name] = { repeat_time: r, lines: generalLines[i]!, samples };
    out[d.name] = { ...generalRaw[d.name], repeat_time: r, length: generalLines[i]! };
  });
  await writeJsonAtomic(opts.out, out);
  return {
    out: opts.out, general_repeat_time: r, domain_samples: domainSamples, general_samples: generalSamples,
    achieved_ratio: domainSamples > 0 ? Number((generalSamples / domainSamples).toFixed(6)) : 0, datasets,
  };
}
