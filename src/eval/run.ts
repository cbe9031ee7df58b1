/**
 * `minivl eval run`: every item of every requested benchmark through MiniVL with that benchmark's
 * reference settings, each answer committed to the store before the next item starts (resume = rerun),
 * then scored. Deterministic sharding (`k/n`, contiguous ranges as the reference's InferenceSampler) lets
 * a scheduler run shards anywhere; `eval merge` joins their stores.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, openSync, readSync, closeSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode, fail, MinivlError } from '../errors.ts';
import { loadImage } from '../image/index.ts';
import { resolveModel } from '../io/hub.ts';
import { MiniVL, GenerationAbortedError, type ImageInput } from '../minivl.ts';
import type { Precision } from '../runtime/precision.ts';
import { referenceSettings, toolkitSpec, type BenchDef, type BenchSettings, type Toolkit } from './benchmarks.ts';
import { readBench, locateBenchFiles } from './datasets/index.ts';
import { imageInput } from './datasets/images.ts';
import type { EvalItem } from './datasets/types.ts';
import { Progress } from './progress.ts';
import { BENCHES, usesJudge, type BenchName, type Protocol } from './score.ts';
import { scoreStoredBench, type JudgeChoice } from './scoring.ts';
import { EvalStore, type BenchRun } from './store.ts';
import { upscaleBilinear } from './upscale.ts';

export const STORE_FILE = 'results.sqlite';

export interface Shard {
  k: number;
  n: number;
}

/** `k/n` with 0 ≤ k < n (k = a Kubernetes JOB_COMPLETION_INDEX or a Slurm array task id). */
export function parseShard(s: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  const k = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || !(n >= 1) || !(k >= 0 && k < n)) fail(`--shard must be k/n with 0 ≤ k < n (e.g. 0/4), got '${s}'`);
  return { k, n };
}

/** The item range of shard k of n over `total` items: sizes differ by at most one, in order. */
export function shardRange(total: number, s: Shard): [number, number] {
  const size = Math.floor(total / s.n);
  const left = total % s.n;
  const begin = s.k * size + Math.min(s.k, left);
  return [begin, begin + size + (s.k < left ? 1 : 0)];
}

/** Explicit departures from the reference settings (made for quick checks); recorded and reported. */
export interface SettingOverrides {
  maxNum?: number;
  maxNewTokens?: number;
  /** Weight precision other than fp32 (the published numbers come from the bf16 weights, which fp32 runs exactly). */
  dtype?: Precision;
}

export interface EvalRunOptions {
  model: string;
  benches: BenchDef[];
  dataDir: string;
  outDir: string;
  toolkit?: Toolkit;
  limit?: number;
  shard?: Shard;
  overrides?: SettingOverrides;
  judge: JudgeChoice;
  protocol?: string;
  threads?: number;
  signal?: AbortSignal;
  /** Progress and notes (stderr). */
  log?: (line: string) => void;
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface BenchRunSummary {
  bench: string;
  selected: number;
  answered: number;
  resumed: number;
  errors: number;
  problems: number;
  /** The table score (null: not scored, needs a judge, or a test split), with how it was scored. */
  score: number | null;
  protocol: string;
  judge: string;
  itemsPerSecond: number;
}

export interface EvalRunSummary {
  store: string;
  interrupted: boolean;
  benches: BenchRunSummary[];
}

/** The settings a run uses and records: the reference's, with the overrides applied and listed. */
export type EffectiveSettings = BenchSettings & { dtype?: Precision; overrides: string[] };

export function effectiveSettings(bench: BenchDef, toolkit: Toolkit | undefined, o: SettingOverrides = {}): EffectiveSettings {
  const ref = referenceSettings(bench, toolkit);
  const s: EffectiveSettings = { ...ref, overrides: [] };
  if (o.maxNum !== undefined && o.maxNum !== ref.maxNum) {
    s.maxNum = o.maxNum;
    s.overrides.push(`max_num ${o.maxNum} (reference ${ref.maxNum})`);
  }
  if (o.maxNewTokens !== undefined && o.maxNewTokens !== ref.maxNewTokens) {
    s.maxNewTokens = o.maxNewTokens;
    s.overrides.push(`max_new_tokens ${o.maxNewTokens} (reference ${ref.maxNewTokens})`);
  }
  // Only a departure is written into the settings, so fp32 stores made before this field still resume.
  if (o.dtype !== undefined && o.dtype !== 'fp32') {
    s.dtype = o.dtype;
    s.overrides.push(`dtype ${o.dtype} (reference bf16 weights, run exactly in fp32)`);
  }
  return s;
}

/**
 * A cheap identity of a checkpoint: config.json plus size, first and last MiB of every weight file.
 * Hashing gigabytes at every start would cost more than the check is worth; this tells apart
 * different checkpoints (and random ones of different seeds) while being the same on every machine.
 */
export function modelFingerprint(dir: string): string {
  const h = createHash('sha256');
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    fail(`${dir}: cannot list the checkpoint folder (${errnoCode(e)})`);
  }
  for (const name of names) {
    const p = join(dir, name);
    if (name === 'config.json') h.update(readFileSync(p));
    if (!name.endsWith('.safetensors')) continue;
    const size = statSync(p).size;
    h.update(`${name}:${size}`);
    const fd = openSync(p, 'r');
    try {
      const n = Math.min(size, 1 << 20);
      const b = Buffer.alloc(n);
      readSync(fd, b, 0, n, 0);
      h.update(b);
      readSync(fd, b, 0, n, size - n);
      h.update(b);
    } finally {
      closeSync(fd);
    }
  }
  return h.digest('hex').slice(0, 32);
}

/** config.json `template` (Hermes-2, internlm2-chat, phi3-chat): tells the report which published row applies. */
function checkpointTemplate(dir: string): string | null {
  try {
    const t = (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { template?: unknown }).template;
    return typeof t === 'string' ? t : null;
  } catch {
    return null;
  }
}

function sha256(...parts: Array<string | Uint8Array>): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

function imageDigest(item: EvalItem): string[] {
  return item.images.map((ref) => {
    if (ref.kind === 'base64') return sha256(ref.data);
    try {
      return sha256(readFileSync(ref.path));
    } catch (e) {
      return `unreadable:${errnoCode(e)}`;
    }
  });
}

/** Runs (or resumes) the benchmarks; returns after scoring, or early when the signal fires. */
export async function evalRun(o: EvalRunOptions): Promise<EvalRunSummary> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  // Fail fast on anything that would stop the run later: data files, toolkit, model folder.
  for (const b of o.benches) locateBenchFiles(b, o.toolkit, o.dataDir);
  const modelDir = await resolveModel(o.model);
  const fingerprint = modelFingerprint(modelDir);
  try {
    mkdirSync(o.outDir, { recursive: true });
  } catch (e) {
    fail(`--out ${o.outDir}: cannot create (${errnoCode(e)})`);
  }
  const storePath = join(o.outDir, STORE_FILE);
  const store = EvalStore.open(storePath, { create: true });
  const template = checkpointTemplate(modelDir);
  if (template) store.setMeta('template', template);
  let vl: MiniVL | null = null;
  const summaries: BenchRunSummary[] = [];
  let interrupted = false;
  try {
    for (const bench of o.benches) {
      if (o.signal?.aborted) {
        interrupted = true;
        break;
      }
      const settings = effectiveSettings(bench, o.toolkit, o.overrides);
      const { spec } = toolkitSpec(bench, o.toolkit);
      const data = readBench(bench, o.toolkit, o.dataDir);
      const run: BenchRun = {
        bench: bench.name,
        toolkit: settings.toolkit,
        settings: JSON.stringify(settings),
        model: fingerprint,
        modelName: o.model,
        shard: o.shard ? `${o.shard.k}/${o.shard.n}` : '',
        totalItems: data.items.length,
        dataFiles: data.files.join(','),
      };
      checkResumable(store.run(bench.name), run, storePath);
      for (const p of data.problems) log(`${bench.name}: ${p.location}: ${p.message}`);
      store.putRun(run);
      store.replaceProblems(bench.name, data.problems);

      const [begin, end] = o.shard ? shardRange(data.items.length, o.shard) : [0, data.items.length];
      let selected = data.items.slice(begin, end).map((item, i) => ({ item, seq: begin + i }));
      if (o.limit !== undefined) selected = selected.slice(0, o.limit);
      const finished = store.finished(bench.name);
      const plan = selected.map(({ item, seq }) => {
        const question = spec.question(item);
        const inputHash = sha256(JSON.stringify([question, settings, fingerprint, imageDigest(item)]));
        return { item, seq, question, inputHash };
      });
      const todo = plan.filter((p) => finished.get(p.item.id) !== p.inputHash);
      const resumed = plan.length - todo.length;
      const label = `${bench.name}${o.shard ? ` [shard ${o.shard.k}/${o.shard.n}]` : ''}`;
      if (settings.overrides.length > 0) log(`${bench.name}: NOT the reference settings: ${settings.overrides.join(', ')}`);
      if (data.problems.length > 0) log(`${bench.name}: ${data.problems.length} malformed row(s) left out (listed above and in the store)`);
      const progress = new Progress({ label, total: todo.length, resumed, stream: o.progressStream });
      let errors = 0;
      let answered = 0;
      for (const p of todo) {
        if (o.signal?.aborted) {
          interrupted = true;
          break;
        }
        vl ??= await loadModel(modelDir, o, log);
        const outcome = await answer(vl, p.item, p.question, settings, o.signal);
        if (outcome === 'aborted') {
          interrupted = true;
          break;
        }
        if (outcome.status === 'error') {
          errors++;
          log(`${bench.name}: ${p.item.location} (id ${p.item.id}): ${outcome.error}`);
        }
        store.putItem({
          bench: bench.name,
          id: p.item.id,
          seq: p.seq,
          location: p.item.location,
          inputHash: p.inputHash,
          fields: JSON.stringify(bench.scoreFields(p.item)),
          ...outcome,
        });
        answered++;
        progress.tick(outcome.status === 'done');
      }
      progress.finish();
      const summary: BenchRunSummary = {
        bench: bench.name, selected: plan.length, answered, resumed, errors,
        problems: data.problems.length, score: null, protocol: '', judge: '', itemsPerSecond: progress.rate,
      };
      summaries.push(summary);
      if (interrupted) break;
      const result = await scoreStoredBench(store, bench, { judge: o.judge, protocol: o.protocol });
      Object.assign(summary, { score: result.score, protocol: result.protocol, judge: result.judge });
      const error = (JSON.parse(result.summary) as { error?: string }).error;
      if (error) log(`${bench.name}: not scored: ${error}`);
      if (o.judge.kind === 'none' && needsJudge(bench.name, o.protocol)) log(`${bench.name}: scored WITHOUT a judge (the reference's rule-only path); pass --judge URL for the published protocol`);
    }
  } finally {
    store.close();
    await vl?.release();
  }
  return { store: storePath, interrupted, benches: summaries };
}

/** Whether the benchmark's scoring protocol consults a judge model (score.ts knows; test splits have no metric). */
export function needsJudge(bench: string, protocol?: string): boolean {
  return bench in BENCHES && usesJudge(bench as BenchName, protocol as Protocol | undefined);
}

function checkResumable(prev: BenchRun | null, next: BenchRun, storePath: string): void {
  if (!prev) return;
  const what =
    prev.model !== next.model ? `a different checkpoint (${prev.modelName})`
    : prev.settings !== next.settings ? `other settings (${prev.settings})`
    : prev.shard !== next.shard ? `shard '${prev.shard || 'all'}'`
    : null;
  if (what) fail(`${storePath}: ${next.bench} was run with ${what}; use another --out folder to keep both`);
}

async function loadModel(dir: string, o: EvalRunOptions, log: (l: string) => void): Promise<MiniVL> {
  const t0 = performance.now();
  const vl = await MiniVL.load(dir, { threads: o.threads, dtype: o.overrides?.dtype, signal: o.signal, warn: (m) => log(`warning: ${m}`), log });
  log(`loaded ${o.model} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return vl;
}

type Outcome = {
  status: 'done' | 'error';
  prediction: string;
  error: string;
  promptHash: string;
  promptTokens: number;
  outputTokens: number;
  outputIds: string;
  ms: number;
};

/** One item through chat(); a bad image or a context overflow is that item's error, not the run's. */
async function answer(vl: MiniVL, item: EvalItem, question: string, s: BenchSettings, signal?: AbortSignal): Promise<Outcome | 'aborted'> {
  const t0 = performance.now();
  try {
    const images: ImageInput[] = [];
    for (const [k, ref] of item.images.entries()) {
      const src = imageInput(ref);
      images.push(k === 0 && s.upscaleFirstImage ? upscaleBilinear(await loadImage(src)) : src);
    }
    const r = await vl.chat({ question, images, maxNum: s.maxNum, generation: { maxNewTokens: s.maxNewTokens, minNewTokens: s.minNewTokens }, signal });
    return {
      status: 'done', prediction: r.text, error: '', promptHash: promptHash(r.promptIds), promptTokens: r.promptTokens,
      outputTokens: r.tokenIds.length, outputIds: JSON.stringify(r.tokenIds), ms: performance.now() - t0,
    };
  } catch (e) {
    if (e instanceof GenerationAbortedError || signal?.aborted) return 'aborted';
    if (!(e instanceof MinivlError)) throw e;
    return { status: 'error', prediction: '', error: e.message, promptHash: '', promptTokens: 0, outputTokens: 0, outputIds: '[]', ms: performance.now() - t0 };
  }
}

function promptHash(ids: number[] | null): string {
  return ids ? sha256(new Uint8Array(Int32Array.from(ids).buffer)) : '';
}
