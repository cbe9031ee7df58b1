// The GPU benchmark's measuring program (bench/gpu/README.md): bundled by bench/gpu/prepare.sh into one
// file that the carried Node binary runs on the GPU machine. Two subcommands:
//   write --like internvl2-1b|2b|4b --out DIR [--tiny]   a random checkpoint in the released format
//   time  --model DIR [--model DIR...] [--dtype fp16,fp32] [--tiny] [--require-gpu]
// `time` loads each model at each precision on the WebGPU provider (refusing to run anywhere else;
// fp16 must compute in float16 — shader-f16 kernels, graph/float16.ts — not fall back), times vision +
// projector for 1/7/13 tiles, prefill of 512 and 3,378 tokens, decode tokens/s after a 3,378-token
// context, samples GPU memory with nvidia-smi, and prints one table next to the PyTorch figures the
// issue quotes (transformers, bf16, eager, H200; not re-measurable here: no Python on that machine).
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { writeRandomCheckpoint } from '../../src/dev/random-checkpoint.ts';
import { Model } from '../../src/runtime/model.ts';
import { DecodeState } from '../../src/runtime/decode.ts';
import { syntheticIds } from '../../src/runtime/bench.ts';
import { parsePrecision } from '../../src/runtime/precision.ts';
import { GpuKVDecoder } from '../../src/runtime/gpu-kv-decoder.ts';

/** transformers bf16 eager on an H200, same shapes (issue 14). */
const TORCH = {
  vision: { 1: 8.6, 7: 36.5, 13: 65 } as Record<number, number>,
  prefill3378: { 'internvl2-1b': 41, 'internvl2-2b': 109, 'internvl2-4b': 76 } as Record<string, number>,
  decode: { 'internvl2-1b': 62, 'internvl2-2b': 54, 'internvl2-4b': 39 } as Record<string, number>,
};

const die = (msg: string): never => {
  process.stderr.write(`gpu-bench: FAIL: ${msg}\n`);
  process.exit(1);
};

/** Used memory of GPU 0 in MiB (nvidia-smi), or null without one. */
function gpuMemMiB(): number | null {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits', '-i', '0'], { encoding: 'utf8', timeout: 5000 });
    return Number(out.trim().split('\n')[0]);
  } catch {
    return null;
  }
}

/** Samples GPU memory every 200 ms; peak() is the highest reading above the baseline. */
function gpuSampler() {
  const base = gpuMemMiB();
  let peak = base;
  const t = setInterval(() => {
    const m = gpuMemMiB();
    if (m !== null && (peak === null || m > peak)) peak = m;
  }, 200);
  return {
    base,
    sample: () => {
      const m = gpuMemMiB();
      if (m !== null && (peak === null || m > peak)) peak = m;
      return m;
    },
    peak: () => (peak === null || base === null ? null : peak - base),
    stop: () => clearInterval(t),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeIt(reps: number, f: () => Promise<unknown>): Promise<number> {
  await f(); // warm-up: shader compilation and buffer allocation happen on the first call of a shape
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await f();
    xs.push(performance.now() - t);
  }
  return median(xs);
}

interface Row { model: string; dtype: string; compute: string; tiles: Record<number, number>; prefill: Record<number, number>; decodeTokS: number | null; gpuCacheDecodeTokS: number | null; peakMiB: number | null; loadS: number }

async function timeModel(dir: string, o: { dtype: 'fp32' | 'fp16'; tiny: boolean; requireGpu: boolean }): Promise<Row> {
  process.stderr.write(`gpu-bench: ${dir}: loading ${o.dtype} on WebGPU\n`);
  const mem = gpuSampler();
  const t0 = performance.now();
  const warnings: string[] = [];
  const model = await Model.load(dir, { device: 'webgpu', dtype: o.dtype, warn: (m) => warnings.push(m), log: (m) => process.stderr.write(`${m}\n`) });
  const loadS = (performance.now() - t0) / 1000;
  try {
    if (model.device !== 'webgpu') die(`${dir}: ran on ${model.device}, not WebGPU (${warnings.join('; ')})`);
    if (warnings.length > 0) die(`${dir}: ${warnings.join('; ')}`);
    if (o.dtype === 'fp16' && !model.float16Compute) die(`${dir}: fp16 does not compute in float16 here (no shader-f16 kernels)`);
    const used = mem.sample();
    if (o.requireGpu && (used === null || mem.base === null || used - mem.base < 256)) {
      die(`${dir}: the GPU's memory did not grow after loading (${mem.base} → ${used} MiB): the model is not on the NVIDIA GPU`);
    }
    const cfg = model.config;
    const S = cfg.imageSize;
    const reps = o.tiny ? 1 : 3;
    const tiles: Record<number, number> = {};
    for (const n of o.tiny ? [1, 2] : [1, 7, 13]) {
      const px = new Float32Array(n * 3 * S * S).map((_, i) => Math.sin(i * 0.37));
      tiles[n] = await timeIt(reps, () => model.encodeImages(px, n));
      process.stderr.write(`gpu-bench: ${dir}: vision ${n} tile(s) ${tiles[n]!.toFixed(1)} ms\n`);
    }
    const V = Math.min(cfg.llm.vocabSize, 30000);
    const prefill: Record<number, number> = {};
    const lengths = o.tiny ? [16, 64] : [512, 3378];
    for (const n of lengths) {
      const e = await model.embed(syntheticIds(n, 100, V, n));
      prefill[n] = await timeIt(reps, () => new DecodeState(model, n + 8).feed(e));
      process.stderr.write(`gpu-bench: ${dir}: prefill ${n} ${prefill[n]!.toFixed(1)} ms\n`);
    }
    const context = lengths[1]!;
    const steps = o.tiny ? 4 : 64;
    const ids = syntheticIds(steps + 2, 100, V, 9);
    // The JS-buffer cache (uploaded every step); skipped where the past is float16 (the fp16 rows):
    // there each step would also convert the whole cache on the CPU, which times the CPU, not the GPU.
    let decodeTokS: number | null = null;
    if (!(model.float16Compute && model.gpuCache)) {
      const st = new DecodeState(model, context + steps + 8);
      await st.feed(await model.embed(syntheticIds(context, 100, V, 7)));
      await st.step(ids[0]!);
      const t = performance.now();
      for (let i = 1; i <= steps; i++) await st.step(ids[i]!);
      decodeTokS = steps / ((performance.now() - t) / 1000);
      process.stderr.write(`gpu-bench: ${dir}: decode ${decodeTokS.toFixed(1)} tok/s (JS-buffer KV cache, uploaded every step)\n`);
    }
    // The same decode with the cache kept on the GPU (gpu-kv-decoder.ts).
    let gpuCacheDecodeTokS: number | null = null;
    if (model.gpuCache) {
      const gd = new GpuKVDecoder(model);
      try {
        await gd.feed(await model.embed(syntheticIds(context, 100, V, 7)));
        await gd.step(ids[0]!);
        const t2 = performance.now();
        for (let i = 1; i <= steps; i++) await gd.step(ids[i]!);
        gpuCacheDecodeTokS = steps / ((performance.now() - t2) / 1000);
        process.stderr.write(`gpu-bench: ${dir}: decode ${gpuCacheDecodeTokS.toFixed(1)} tok/s (KV cache on the GPU)\n`);
      } finally {
        gd.release();
      }
    }
    return { model: dir, dtype: o.dtype, compute: model.float16Compute ? 'float16' : 'float32', tiles, prefill, decodeTokS, gpuCacheDecodeTokS, peakMiB: mem.peak(), loadS };
  } finally {
    mem.stop();
    await model.release();
  }
}

function printTable(rows: Row[], o: { dtype: string; tiny: boolean }): void {
  const name = (d: string) => d.replace(/\/+$/, '').split('/').pop()!;
  const f = (x: number | undefined, d = 1) => (x === undefined ? '—' : x.toFixed(d));
  const tileKeys = Object.keys(rows[0]!.tiles).map(Number);
  const preKeys = Object.keys(rows[0]!.prefill).map(Number);
  const gpu = (() => {
    try {
      return execFileSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader', '-i', '0'], { encoding: 'utf8' }).trim();
    } catch {
      return 'no nvidia-smi (software Vulkan)';
    }
  })();
  const out: string[] = [];
  out.push(`minivl GPU bench — WebGPU provider (onnxruntime-node), precisions ${o.dtype}; GPU: ${gpu}; CPU: ${cpus()[0]?.model} x${cpus().length}; node ${process.version}${o.tiny ? '; TINY shapes (script check only)' : ''}`);
  out.push('');
  out.push(`| model | dtype (compute) | ${tileKeys.map((k) => `vision+proj ${k} tile${k > 1 ? 's' : ''} ms (torch)`).join(' | ')} | ${preKeys.map((k) => `prefill ${k} ms`).join(' | ')} ${o.tiny ? '' : '(torch)'} | decode tok/s @${preKeys.at(-1)}, JS cache | decode tok/s, GPU cache (torch) | peak GPU MiB | load s |`);
  out.push(`|---|---|${tileKeys.map(() => '---:').join('|')}|${preKeys.map(() => '---:').join('|')}|---:|---:|---:|---:|`);
  for (const r of rows) {
    const m = name(r.model);
    const torchKey = Object.keys(TORCH.decode).find((k) => m.startsWith(k));
    const tv = (k: number) => (o.tiny ? '' : ` (${f(TORCH.vision[k])})`);
    const tp = !o.tiny && torchKey ? ` (${f(TORCH.prefill3378[torchKey], 0)})` : '';
    const td = !o.tiny && torchKey ? ` (${f(TORCH.decode[torchKey], 0)})` : '';
    out.push(`| ${m} | ${r.dtype} (${r.compute}) | ${tileKeys.map((k) => `${f(r.tiles[k])}${tv(k)}`).join(' | ')} | ${preKeys.map((k, i) => `${f(r.prefill[k])}${i === preKeys.length - 1 ? tp : ''}`).join(' | ')} | ${r.decodeTokS === null ? '—' : f(r.decodeTokS)} | ${r.gpuCacheDecodeTokS === null ? '—' : f(r.gpuCacheDecodeTokS)}${td} | ${r.peakMiB === null ? 'n/a' : r.peakMiB.toFixed(0)} | ${f(r.loadS)} |`);
  }
  process.stdout.write(out.join('\n') + '\n');
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: {
      like: { type: 'string' },
      out: { type: 'string' },
      model: { type: 'string', multiple: true },
      dtype: { type: 'string', default: 'fp16' },
      tiny: { type: 'boolean', default: false },
      'require-gpu': { type: 'boolean', default: false },
    },
  });
  if (cmd === 'write') {
    if (!values.like || !values.out) die('write needs --like and --out');
    const r = await writeRandomCheckpoint({ like: values.like!, tiny: values.tiny, out: values.out!, log: process.stderr });
    process.stderr.write(`gpu-bench: wrote ${r.dir} (${(r.params / 1e9).toFixed(2)} B params)\n`);
    return;
  }
  if (cmd !== 'time' || !values.model?.length) die('usage: gpu-bench write --like NAME --out DIR [--tiny] | time --model DIR... [--dtype fp16,fp32] [--tiny] [--require-gpu]');
  const dtypes = values.dtype!.split(',').map((d) => parsePrecision(d));
  for (const d of dtypes) if (d !== 'fp32' && d !== 'fp16') die(`--dtype ${d}: the GPU bench times fp16 and fp32`);
  const rows: Row[] = [];
  for (const dir of values.model!) {
    for (const dtype of dtypes) rows.push(await timeModel(dir, { dtype: dtype as 'fp32' | 'fp16', tiny: values.tiny!, requireGpu: values['require-gpu']! }));
  }
  printTable(rows, { dtype: dtypes.join(', '), tiny: values.tiny! });
}

main().catch((e) => die((e as Error).message.split('\n')[0]!));
