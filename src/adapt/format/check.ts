/**
 * `minivl adapt check`: validates a meta file and every record its datasets contribute, before a
 * training job trips over them. Reports each problem with file, line and field, the counts per dataset
 * after `repeat_time` (and each dataset's share of the mixture), the record kinds, missing or
 * unreadable images, and — given tokenizers — the token-length distribution per template.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { errnoCode } from '../../errors.ts';
import type { ConversationTemplate } from '../../prompt/index.ts';
import type { Tokenizer } from '../../tokenizer/index.ts';
import { imageSize, loadRecordSample } from '../sample/record-sample.ts';
import { datasetLines, effectiveLineCount, parseMeta, readJsonlLines, resolveMediaPath, type DatasetSpec } from './meta.ts';
import { recordKind, type RecordKind } from './record.ts';
import { recordMedia, validateLine, type Issue } from './validate.ts';

export interface CheckOptions {
  /** Folder that relative annotation/root paths resolve against (default: the current folder). */
  baseDir?: string;
  /** Token lengths are measured per entry (template name → tokenizer); images are then read for their size. */
  tokenizers?: Array<{ template: string | ConversationTemplate; tokenizer: Tokenizer; label: string }>;
  /** Max tiles per image when a dataset sets none (trainer flag `max_dynamic_patch`, default 12). */
  maxDynamicPatch?: number;
  /** `max_seq_length` for counting truncated samples (default 8192). */
  maxLength?: number;
  /** Also decode each image's header (catches corrupt files; slower). Always on with tokenizers. */
  decodeImages?: boolean;
  /** Issues kept in the report per dataset (all are counted). */
  maxIssuesPerDataset?: number;
  /** Progress callback (lines checked so far). */
  onProgress?: (linesChecked: number) => void;
}

export interface LengthStats {
  count: number;
  min: number;
  median: number;
  max: number;
  /** Samples longer than maxLength (they are truncated). */
  overMaxLength: number;
  /** Counts per bucket: tokens ≤ upTo (the last bucket has upTo null: everything longer). */
  histogram: Array<{ upTo: number | null; count: number }>;
}

export interface DatasetReport {
  name: string;
  annotation: string;
  /** Lines in the annotation file. */
  lines: number;
  repeatTime: number;
  /** Lines used after repeat_time (r < 1: a head cut; r > 1: repeats). */
  effective: number;
  /** Fraction of the whole mixture's effective lines. */
  share: number;
  /** The meta file's informational `length`, when given and different from `lines`. */
  lengthMismatch?: number;
  /** Distinct lines validated (the used head of the file). */
  checked: number;
  errors: number;
  warnings: number;
  /** Records with an error, i.e. the trainer would reject or mis-train them. */
  badRecords: number;
  missingImages: number;
  kinds: Record<RecordKind, number>;
  tokenLengths?: Record<string, LengthStats>;
}

export interface CheckReport {
  meta: string;
  ok: boolean;
  errors: number;
  warnings: number;
  totalEffective: number;
  datasets: DatasetReport[];
  /** Up to maxIssuesPerDataset issues per dataset, plus every meta-file issue. */
  issues: Issue[];
}

const BUCKETS = [256, 512, 1024, 2048, 4096, 8192, 16384];

export async function checkMeta(metaPath: string, opts: CheckOptions = {}): Promise<CheckReport> {
  const issues: Issue[] = [];
  let text = '';
  try {
    text = readFileSync(metaPath, 'utf8');
  } catch (e) {
    issues.push({ severity: 'error', file: metaPath, line: 0, field: '', message: `cannot read the meta file (${errnoCode(e)})` });
    return { meta: metaPath, ok: false, errors: 1, warnings: 0, totalEffective: 0, datasets: [], issues };
  }
  const { meta, issues: metaIssues } = parseMeta(text, metaPath, opts.baseDir !== undefined ? { baseDir: opts.baseDir } : {});
  for (const m of metaIssues) issues.push({ severity: 'error', file: m.file, line: 0, field: m.field, message: m.message });

  const reports: DatasetReport[] = [];
  let checkedSoFar = 0;
  for (const ds of meta.datasets) {
    const r = await checkDataset(ds, opts, issues, (n) => opts.onProgress?.(checkedSoFar + n));
    checkedSoFar += r.checked;
    reports.push(r);
  }
  const totalEffective = reports.reduce((a, r) => a + r.effective, 0);
  for (const r of reports) r.share = totalEffective > 0 ? r.effective / totalEffective : 0;
  const errors = metaIssues.length + reports.reduce((a, r) => a + r.errors, 0);
  const warnings = reports.reduce((a, r) => a + r.warnings, 0);
  return { meta: metaPath, ok: errors === 0, errors, warnings, totalEffective, datasets: reports, issues };
}

async function checkDataset(ds: DatasetSpec, opts: CheckOptions, issues: Issue[], progress: (n: number) => void): Promise<DatasetReport> {
  const cap = opts.maxIssuesPerDataset ?? 50;
  const report: DatasetReport = {
    name: ds.name, annotation: ds.annotationPath, lines: 0, repeatTime: ds.repeatTime, effective: 0, share: 0, checked: 0,
    errors: 0, warnings: 0, badRecords: 0, missingImages: 0, kinds: { image: 0, 'multi-image': 0, video: 0, text: 0 },
  };
  let kept = 0;
  const add = (i: Issue) => {
    if (i.severity === 'error') report.errors++;
    else report.warnings++;
    if (kept++ < cap) issues.push(i);
  };
  let lines: string[];
  try {
    lines = readJsonlLines(ds.annotationPath);
  } catch (e) {
    add({ severity: 'error', file: ds.annotationPath, line: 0, field: `${ds.name}.annotation`, message: (e as Error).message });
    return report;
  }
  report.lines = lines.length;
  report.effective = effectiveLineCount(lines.length, ds.repeatTime);
  if (ds.length !== undefined && ds.length !== lines.length) report.lengthMismatch = ds.length;

  const decode = opts.decodeImages || (opts.tokenizers?.length ?? 0) > 0;
  const mediaState = new Map<string, string | null>(); // path → problem or null (checked once per path)
  const lengths = new Map<string, number[]>();
  const over = new Map<string, number>();
  const maxLength = opts.maxLength ?? 8192;
  const ids = new Map<string, number>();
  const sizeCache = new Map<string, { width: number; height: number }>();
  // The distinct lines used: the head for r < 1, the whole file otherwise (repeats add no new lines).
  const once: DatasetSpec = { ...ds, repeatTime: Math.min(ds.repeatTime, 1) };
  for (const line of datasetLines(once, lines)) {
    report.checked++;
    if (report.checked % 10000 === 0) progress(report.checked);
    const { record, issues: found } = validateLine(line);
    let bad = found.some((i) => i.severity === 'error');
    found.forEach(add);
    if (!record) {
      report.badRecords++;
      continue;
    }
    report.kinds[recordKind(record)]++;
    if (record.id !== undefined) {
      const key = `${typeof record.id}:${record.id}`;
      const first = ids.get(key);
      if (first !== undefined) add({ severity: 'warning', file: line.file, line: line.lineNo, field: 'id', message: `duplicate id ${JSON.stringify(record.id)} (first on line ${first})` });
      else ids.set(key, line.lineNo);
    }
    for (const [k, media] of recordMedia(record).entries()) {
      const path = resolveMediaPath(ds.rootPath, media);
      if (!mediaState.has(path)) mediaState.set(path, mediaProblem(path, recordKind(record) === 'video'));
      const problem = mediaState.get(path);
      if (problem) {
        report.missingImages++;
        bad = true;
        const field = recordKind(record) === 'video' ? 'video' : Array.isArray(record.image) ? `image[${k}]` : 'image';
        add({ severity: 'error', file: line.file, line: line.lineNo, field, message: `${path}: ${problem}` });
      }
    }
    if (!bad && decode) {
      for (const t of opts.tokenizers ?? []) {
        try {
          const s = await loadRecordSample(record, {
            tokenizer: t.tokenizer, template: t.template, root: ds.rootPath, maxDynamicPatch: ds.maxDynamicPatch ?? opts.maxDynamicPatch ?? 12,
            maxLength: Number.MAX_SAFE_INTEGER, sizeCache,
          });
          const n = s.inputIds.length;
          (lengths.get(t.label) ?? lengths.set(t.label, []).get(t.label)!).push(n);
          if (n > maxLength) over.set(t.label, (over.get(t.label) ?? 0) + 1);
        } catch (e) {
          bad = true;
          add({ severity: 'error', file: line.file, line: line.lineNo, field: '', message: `${t.label}: ${(e as Error).message}` });
          break;
        }
      }
      if (!opts.tokenizers?.length && decode) {
        // Header decode only (no tokenizer given).
        for (const media of recordMedia(record)) {
          if (recordKind(record) === 'video') continue;
          const path = resolveMediaPath(ds.rootPath, media);
          const key = `decode:${path}`;
          if (!mediaState.has(key)) mediaState.set(key, await headerProblem(path));
          const problem = mediaState.get(key);
          if (problem) {
            bad = true;
            add({ severity: 'error', file: line.file, line: line.lineNo, field: 'image', message: problem });
          }
        }
      }
    }
    if (bad) report.badRecords++;
  }
  if (lengths.size > 0) {
    report.tokenLengths = {};
    for (const [label, ls] of lengths) report.tokenLengths[label] = lengthStats(ls, over.get(label) ?? 0);
  }
  return report;
}

function mediaProblem(path: string, video: boolean): string | null {
  if (path.startsWith('s3://')) return null; // object storage is not reachable from here; the trainer reads it
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = errnoCode(e);
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : `cannot access (${code})`;
  }
  if (st.isDirectory() && !video) return 'is a folder, not an image';
  try {
    accessSync(path, constants.R_OK);
  } catch (e) {
    return `unreadable (${errnoCode(e)})`;
  }
  if (st.isFile() && st.size === 0) return 'empty file';
  return null;
}

async function headerProblem(path: string): Promise<string | null> {
  try {
    await imageSize(path);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

export function lengthStats(values: number[], overMaxLength: number): LengthStats {
  const sorted = [...values].sort((a, b) => a - b);
  const histogram: LengthStats['histogram'] = [...BUCKETS.map((upTo) => ({ upTo: upTo as number | null, count: 0 })), { upTo: null, count: 0 }];
  for (const v of sorted) {
    const i = BUCKETS.findIndex((b) => v <= b);
    histogram[i < 0 ? BUCKETS.length : i]!.count++;
  }
  return {
    count: sorted.length,
    min: sorted[0] ?? 0,
    median: sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : 0,
    max: sorted[sorted.length - 1] ?? 0,
    overMaxLength,
    histogram,
  };
}

/** The report as text: the issues (`file:line: field: message`), then one summary block per dataset. */
export function formatCheckReport(r: CheckReport): string {
  const out: string[] = [];
  for (const i of r.issues) out.push(`${i.severity}: ${i.file}:${i.line}: ${i.field ? `${i.field}: ` : ''}${i.message}`);
  const shown = r.issues.length;
  const total = r.errors + r.warnings;
  if (total > shown) out.push(`(${total - shown} more issue(s) not listed; see --max-issues)`);
  for (const d of r.datasets) {
    out.push(`${d.name}: ${d.annotation}`);
    out.push(`  lines ${d.lines}, repeat_time ${d.repeatTime} → ${d.effective} used (${(d.share * 100).toFixed(2)}% of the mixture); checked ${d.checked}`);
    if (d.lengthMismatch !== undefined) out.push(`  note: the meta file says length ${d.lengthMismatch}, the file has ${d.lines} lines`);
    const kinds = Object.entries(d.kinds).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
    out.push(`  records: ${kinds || 'none'}; ${d.badRecords} bad; errors ${d.errors}, warnings ${d.warnings}, missing/unreadable images ${d.missingImages}`);
    for (const [label, s] of Object.entries(d.tokenLengths ?? {})) {
      const hist = s.histogram.filter((h) => h.count > 0).map((h) => `${h.upTo === null ? `>${BUCKETS[BUCKETS.length - 1]}` : `≤${h.upTo}`}: ${h.count}`).join(', ');
      out.push(`  tokens (${label}): min ${s.min}, median ${s.median}, max ${s.max}; over max length ${s.overMaxLength}; ${hist}`);
    }
  }
  out.push(`${r.ok ? 'OK' : 'FAILED'}: ${r.datasets.length} dataset(s), ${r.totalEffective} samples per epoch, ${r.errors} error(s), ${r.warnings} warning(s)`);
  return `${out.join('\n')}\n`;
}
