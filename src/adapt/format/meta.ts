/**
 * The meta (mixture) file (adaptation.md §3): dataset name → { root, annotation, data_augment,
 * repeat_time, max_dynamic_patch?, length? }, and the lines a dataset contributes after `repeat_time`.
 *
 * Relative `annotation` paths resolve against `baseDir` (default: the current folder), as the official
 * trainer resolves them against the folder torchrun starts in, so one meta file serves both.
 * `root` likewise (`rootPath`); image paths are joined to it by `resolveMediaPath`.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { errnoCode, fail } from '../../errors.ts';

export interface DatasetSpec {
  /** The meta key. */
  name: string;
  /** Folder (or `s3://` prefix) prepended to every image/video path of the dataset, as written. */
  root: string;
  /** `root` resolved against the base folder (`s3://` roots unchanged). */
  rootPath: string;
  /** The annotation path as written in the meta file. */
  annotation: string;
  /** `annotation` resolved against the base folder. */
  annotationPath: string;
  dataAugment: boolean;
  repeatTime: number;
  maxDynamicPatch?: number;
  /** Informational line count (not read by the trainer). */
  length?: number;
}

export interface MetaFile {
  path: string;
  datasets: DatasetSpec[];
}

/** A problem in the meta file itself (the field is `<dataset>.<key>`). */
export interface MetaIssue {
  file: string;
  field: string;
  message: string;
}

/** Reads and validates a meta file; any problem is a one-line MinivlError naming the file and field. */
export function readMeta(path: string, opts: { baseDir?: string } = {}): MetaFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    fail(`${path}: cannot read the meta file (${errnoCode(e)})`);
  }
  const { meta, issues } = parseMeta(text, path, opts);
  if (issues.length > 0) {
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem(s); minivl adapt check lists them all)` : '';
    fail(`${issues[0]!.file}: ${issues[0]!.field}: ${issues[0]!.message}${more}`);
  }
  return meta;
}

/** Parses a meta file's text, collecting every problem instead of stopping at the first. */
export function parseMeta(text: string, file: string, opts: { baseDir?: string } = {}): { meta: MetaFile; issues: MetaIssue[] } {
  const issues: MetaIssue[] = [];
  const bad = (field: string, message: string) => issues.push({ file, field, message });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    bad('(file)', `not valid JSON (${(e as Error).message.split('\n')[0]})`);
    return { meta: { path: file, datasets: [] }, issues };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    bad('(file)', 'expected a JSON object mapping dataset names to { root, annotation, repeat_time, ... }');
    return { meta: { path: file, datasets: [] }, issues };
  }
  const base = opts.baseDir ?? process.cwd();
  const datasets: DatasetSpec[] = [];
  for (const [name, entry] of Object.entries(data as Record<string, unknown>)) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      bad(name, 'expected an object { root, annotation, data_augment, repeat_time, ... }');
      continue;
    }
    const e = entry as Record<string, unknown>;
    const before = issues.length;
    if (typeof e.root !== 'string') bad(`${name}.root`, 'missing or not a string');
    if (typeof e.annotation !== 'string' || e.annotation === '') bad(`${name}.annotation`, 'missing or not a string');
    else if (!e.annotation.endsWith('jsonl')) bad(`${name}.annotation`, `'${e.annotation}' must be a .jsonl file (the trainer asserts it)`);
    if (e.data_augment !== undefined && typeof e.data_augment !== 'boolean') bad(`${name}.data_augment`, 'must be true or false');
    const r = e.repeat_time;
    if (typeof r !== 'number' || !Number.isFinite(r)) bad(`${name}.repeat_time`, 'missing or not a number');
    else if (r < 0) bad(`${name}.repeat_time`, `must be ≥ 0, got ${r}`);
    else if (r > 1 && !Number.isInteger(r)) bad(`${name}.repeat_time`, `${r}: values above 1 must be integers (the trainer asserts it); below 1 it keeps the first floor(n·r) lines`);
    const mdp = e.max_dynamic_patch;
    if (mdp !== undefined && mdp !== null && !(Number.isInteger(mdp) && (mdp as number) >= 1)) bad(`${name}.max_dynamic_patch`, `must be an integer ≥ 1, got ${JSON.stringify(mdp)}`);
    const len = e.length;
    if (len !== undefined && len !== null && !(Number.isInteger(len) && (len as number) >= 0)) bad(`${name}.length`, `must be a line count, got ${JSON.stringify(len)}`);
    if (issues.length > before) continue;
    const annotation = e.annotation as string;
    datasets.push({
      name,
      root: e.root as string,
      rootPath: (e.root as string).startsWith('s3://') ? (e.root as string) : resolve(base, e.root as string),
      annotation,
      annotationPath: isAbsolute(annotation) ? annotation : resolve(base, annotation),
      dataAugment: (e.data_augment as boolean | undefined) ?? false,
      repeatTime: r as number,
      ...(typeof mdp === 'number' ? { maxDynamicPatch: mdp } : {}),
      ...(typeof len === 'number' ? { length: len } : {}),
    });
  }
  if (datasets.length === 0 && issues.length === 0) bad('(file)', 'lists no datasets');
  return { meta: { path: file, datasets }, issues };
}

/** Lines a dataset of n lines contributes: r < 1 → floor(n·r) (float64 product, truncated), else n·r. */
export function effectiveLineCount(n: number, repeatTime: number): number {
  return repeatTime < 1 ? Math.floor(n * repeatTime) : n * repeatTime;
}

/** One line a dataset contributes (after repeat_time), with its place in the annotation file. */
export interface DatasetLine {
  dataset: string;
  file: string;
  /** 1-based line number in the annotation file. */
  lineNo: number;
  text: string;
}

/** Raw lines of a JSONL file as Python's `readlines()` sees them (a final newline ends the last line). */
export function readJsonlLines(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    fail(`${path}: cannot read the annotation file (${errnoCode(e)})`);
  }
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/**
 * The dataset's lines after `repeat_time`, in file order, before any shuffling: r < 1 keeps the first
 * floor(n·r) lines (a head cut, not a random sample), r == 1 all, integer r > 1 repeats the list r times.
 */
export function* datasetLines(ds: DatasetSpec, lines: string[] = readJsonlLines(ds.annotationPath)): Generator<DatasetLine> {
  const keep = ds.repeatTime < 1 ? effectiveLineCount(lines.length, ds.repeatTime) : lines.length;
  const repeats = ds.repeatTime <= 1 ? 1 : ds.repeatTime;
  for (let rep = 0; rep < repeats; rep++) {
    for (let i = 0; i < keep; i++) yield { dataset: ds.name, file: ds.annotationPath, lineNo: i + 1, text: lines[i]! };
  }
}

/**
 * An image or video path of a record joined to the dataset root: `s3://` roots are concatenated, other
 * roots joined (an absolute path overrides the root), as the trainer does.
 */
export function resolveMediaPath(root: string, path: string): string {
  if (root.startsWith('s3://')) return root + path;
  return isAbsolute(path) ? path : join(root, path);
}
