/**
 * The measurements behind `minivl bench` (DESIGN.md: one JSON line): cold and warm load, vision per
 * tile, prefill tokens/s, cached decode tokens/s at a given context, peak RSS. Inputs are synthetic
 * (fixed pseudo-random pixels and token ids): speed does not depend on their values.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { Model } from './model.ts';
import { DecodeState } from './decode.ts';
import type { Precision, PrefillWeights } from './precision.ts';
import type { DeviceRequest } from '../host/types.ts';

export interface BenchOptions {
  modelDir: string;
  dtype?: Precision;
  /** int4: prefill on an int8 copy of the LLM's linears (ModelLoadOptions.prefillWeights). */
  prefillWeights?: PrefillWeights;
  /** Execution device (default cpu); the result's `device` says where it ran. */
  device?: DeviceRequest;
  /** Vision tiles per call (default 1). */
  tiles?: number;
  /** Prefill length in tokens (default 1024). */
  prefill?: number;
  /** Context before the timed decode steps (default 1024). */
  context?: number;
  /** Timed decode steps (default 32). */
  steps?: number;
  threads?: number;
  /** ORT session option disable_prepacking (measured per precision: README "Precisions"). */
  disablePrepacking?: boolean;
  weightCacheRoot?: string;
  log?: (msg: string) => void;
  /** Load warnings (a device fallback). */
  warn?: (msg: string) => void;
}

export interface BenchResult {
  dtype: Precision;
  /** Present when the prefill ran on other weights than `dtype` (BenchOptions.prefillWeights). */
  prefill_weights?: PrefillWeights;
  device: string;
  load_s: number;
  warm_load_s: number;
  /** Seconds spent converting weights during the cold load (0 when the cache entry existed). */
  convert_s: number;
  vision_ms_per_tile: number;
  prefill_tok_s: number;
  decode_tok_s: number;
  context: number;
  peak_rss_gib: number;
  /** Element type of the KV cache the decode ran with (Model.kvDtype). */
  kv_cache: string;
  threads: number;
  prepacking: boolean;
  machine: string;
}

export function machineDescription(): string {
  const la = loadavg().map((x) => x.toFixed(2)).join(' ');
  return `${cpus()[0]?.model ?? 'cpu'} x${availableParallelism()}, node ${process.version}, load ${la}`;
}

/**
 * Peak resident memory of this process. Linux: VmHWM of /proc/self/status, because getrusage's maxRSS
 * survives fork + exec (a child started by a big parent reports the parent's peak).
 */
export function peakRssGiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return (Number(m[1]) * 1024) / 2 ** 30;
  } catch {
    // not Linux
  }
  return (process.resourceUsage().maxRSS * 1024) / 2 ** 30;
}

/** Deterministic token ids in [lo, hi) (a linear congruential sequence). */
export function syntheticIds(n: number, lo: number, hi: number, seed = 1): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return lo + (s % (hi - lo));
  });
}

/**
 * The fastest of a measurement's runs: the rule of bench/compare's references (its llama.cpp runner and
 * the PyTorch script report their best of two), so same-run ratios compare like with like; the first run
 * of each also pays one-off costs (ORT's arena growing to the new shapes). Before, this took the upper
 * median of two runs — the slower one.
 */
const fastest = (xs: number[]) => Math.min(...xs);

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const dtype = o.dtype ?? 'fp32';
  const threads = o.threads ?? availableParallelism();
  const loadOpts = { dtype, prefillWeights: o.prefillWeights, device: o.device, intraOpNumThreads: threads, disablePrepacking: o.disablePrepacking, weightCacheRoot: o.weightCacheRoot, log: o.log, warn: o.warn };
  let t = performance.now();
  let model = await Model.load(o.modelDir, loadOpts);
  const loadS = (performance.now() - t) / 1000;
  const convertS = [model.weightCache, model.prefillWeightCache].reduce((sum, c) => sum + (c?.built ? c.buildSeconds : 0), 0);
  await model.release();
  t = performance.now();
  model = await Model.load(o.modelDir, loadOpts);
  const warmLoadS = (performance.now() - t) / 1000;
  try {
    const cfg = model.config;
    const tiles = o.tiles ?? 1;
    const S = cfg.imageSize;
    const pixels = new Float32Array(tiles * 3 * S * S).map((_, i) => Math.sin(i * 0.37));
    const vis: number[] = [];
    for (let r = 0; r < 2; r++) {
      t = performance.now();
      await model.encodeImages(pixels, tiles);
      vis.push((performance.now() - t) / tiles);
    }
    o.log?.(`minivl: bench: vision ${fastest(vis).toFixed(0)} ms/tile`);

    const V = cfg.llm.vocabSize;
    const prefillN = o.prefill ?? 1024;
    const context = o.context ?? 1024;
    const steps = o.steps ?? 32;
    // One KV cache for all runs with the longest length reserved (as one conversation with a known
    // budget, like chat): it grows inside its reservation, so the prefill's attention reads only the
    // rows reached so far and no dead buffers are left to the GC (fresh caches per run left GBs of them
    // on the 4B and counted them in the peak RSS).
    const longest = Math.max(prefillN, context + steps + 1);
    const st = new DecodeState(model, longest);
    const pre: number[] = [];
    for (let r = 0; r < 2; r++) {
      st.cache.truncate(0);
      const e = await model.embed(syntheticIds(prefillN, 100, Math.min(V, 30000), r + 1));
      t = performance.now();
      await st.feed(e);
      pre.push((performance.now() - t) / 1000);
    }
    o.log?.(`minivl: bench: prefill ${(prefillN / fastest(pre)).toFixed(1)} tok/s`);

    st.cache.truncate(0);
    await st.feed(await model.embed(syntheticIds(context, 100, Math.min(V, 30000), 7)));
    const ids = syntheticIds(steps + 2, 100, Math.min(V, 30000), 9);
    await st.step(ids[0]!); // warm-up: the first one-row call after a prefill plans new shapes
    t = performance.now();
    for (let i = 1; i <= steps; i++) await st.step(ids[i]!);
    const decodeTokS = steps / ((performance.now() - t) / 1000);
    return {
      dtype, ...(model.prefillWeights ? { prefill_weights: model.prefillWeights } : {}), device: model.device,
      load_s: loadS, warm_load_s: warmLoadS, convert_s: convertS,
      vision_ms_per_tile: fastest(vis), prefill_tok_s: prefillN / fastest(pre), decode_tok_s: decodeTokS, context,
      peak_rss_gib: peakRssGiB(), kv_cache: model.kvDtype, threads, prepacking: !o.disablePrepacking, machine: machineDescription(),
    };
  } finally {
    await model.release();
  }
}
