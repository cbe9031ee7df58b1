// minivl at each precision against PyTorch eager fp32 and llama.cpp (f16 / q8_0 / q4_0) on the SAME
// random weights, in one run, interleaved (round r runs every engine once, each in its own process, so
// peak RSS is per engine and machine noise spreads over all of them). Prints one table with ratios and
// the bandwidth ceiling per precision (weight bytes read per decoded token / measured read bandwidth).
//
//   flock /tmp/minivl-heavy.lock node --import tsx bench/compare.ts --dir /work/ckpt/internvl2-1b [--rounds 2]
//        [--engines minivl-fp32,minivl-int8,minivl-int4,minivl-int4+prefill-int8,torch-fp32,llama-f16,llama-q8_0,llama-q4_0]
//        [--prefill 1024] [--context 1024] [--steps 32] [--threads 2] [--work DIR]
//
// Needs: `cd bench && npm install` (node-llama-cpp's prebuilt CPU binary, bench/package.json only) and
// Debian's python3-torch (`apt-get install -y python3-torch`, run as /usr/bin/python3). llama.cpp has no
// InternVL2, so its rows are LLM-only; the GGUF files are written here from the checkpoint (compare/gguf.ts).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { openModelCheckpoint } from '../src/model/inventory.ts';
import { createSession, ort } from '../src/runtime/session.ts';
import { GraphBuilder } from '../src/graph/builder.ts';
import { writeQwen2Gguf, type GgufType } from './compare/gguf.ts';
import { defaultQuantPolicy } from '../src/runtime/precision.ts';
import { splitVariant } from './variant.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/work/ckpt/internvl2-1b' },
    rounds: { type: 'string', default: '2' },
    engines: { type: 'string', default: 'minivl-fp32,minivl-int8,minivl-int4,minivl-int4+prefill-int8,torch-fp32,llama-f16,llama-q8_0,llama-q4_0' },
    prefill: { type: 'string', default: '1024' },
    context: { type: 'string', default: '1024' },
    steps: { type: 'string', default: '32' },
    threads: { type: 'string', default: String(availableParallelism()) },
    work: { type: 'string', default: join(tmpdir(), 'minivl-bench-compare') },
  },
});
const dir = values.dir!;
const [prefill, context, steps, rounds, threads] = [values.prefill, values.context, values.steps, values.rounds, values.threads].map(Number) as number[];
const engines = values.engines!.split(',');
const root = new URL('..', import.meta.url).pathname;
const la = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const ortVersion = JSON.parse(await readFile(join(root, 'node_modules/onnxruntime-node/package.json'), 'utf8')).version;
console.log(`machine: ${cpus()[0]?.model} x${availableParallelism()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB | node ${process.version} | onnxruntime-node ${ortVersion} | threads ${threads} | load ${la()}`);
console.log(`checkpoint ${dir}; prefill ${prefill} tokens, decode ${steps} steps at ${context} context; ${rounds} interleaved rounds`);

// ---- GGUF files of the same weights (written once per checkpoint fingerprint) ----
const { ckpt, cfg } = await openModelCheckpoint(dir);
const fp = (await ckpt.fingerprint()).slice(0, 16);
await mkdir(values.work!, { recursive: true });
const gguf: Record<string, { file: string; weightBytesPerToken: number }> = {};
for (const e of engines.filter((x) => x.startsWith('llama-'))) {
  const type = e.slice('llama-'.length) as GgufType;
  const file = join(values.work!, `${fp}-${type}.gguf`);
  const info = `${file}.json`;
  if (!existsSync(info)) {
    process.stderr.write(`writing ${file}\n`);
    const r = await writeQwen2Gguf(ckpt, cfg, type, file);
    await writeFile(info, JSON.stringify(r));
  }
  gguf[e] = { file, ...(JSON.parse(await readFile(info, 'utf8')) as { weightBytesPerToken: number }) };
}

// ---- decode weight bytes per token (the LLM matrices a step reads; the embedding table is gathered) ----
const l = cfg.llm;
// The linears a norm feeds (q/k/v, gate/up) and the others (o, down).
const normedParams = l.numLayers * (l.hiddenSize * (l.numHeads + 2 * l.numKvHeads) * l.headDim + 2 * l.hiddenSize * l.intermediateSize);
const otherParams = l.numLayers * (l.numHeads * l.headDim * l.hiddenSize + l.hiddenSize * l.intermediateSize);
const linearParams = normedParams + otherParams;
const headParams = l.vocabSize * l.hiddenSize;
// MatMulNBits: codes + one f32 scale per block (each precision's default block); channels: int8 codes
const blockOf = (p: 'int8' | 'int4') => defaultQuantPolicy(p).blockSize;
const bytesPer = { fp32: 4, q8: 1 + 4 / blockOf('int8'), q4: 0.5 + 4 / blockOf('int4'), c8: 1 };
const headPolicy = defaultQuantPolicy('int4').lmHeadBits === 4 ? bytesPer.q4 : bytesPer.q8;
const minivlBytes: Record<string, number> = {
  'minivl-fp32': (linearParams + headParams) * 4,
  'minivl-fp16': (linearParams + headParams) * 4, // Casts fold to f32 on the CPU
  // int8: every LLM linear per channel (normed-channels-rows), the head in 8-bit blocks
  'minivl-int8': linearParams * bytesPer.c8 + headParams * bytesPer.q8,
  'minivl-int4': linearParams * bytesPer.q4 + headParams * headPolicy,
  'minivl-int4+prefill-int8': linearParams * bytesPer.q4 + headParams * headPolicy, // decode reads the int4 weights
  'torch-fp32': (linearParams + headParams) * 4,
};

// ---- read bandwidth: ORT ReduceSum over a 1 GiB float32 input, all threads ----
async function readBandwidth(): Promise<number> {
  const n = 256 * 2 ** 20;
  const g = new GraphBuilder('bw');
  g.output(g.op1('ReduceSum', [g.input('x', 'float32', [n])], { keepdims: 0 }), 'y', 'float32');
  const s = await createSession(g.toBytes(), { intraOpNumThreads: threads });
  const x = new Float32Array(n).fill(1);
  const feeds = { x: new ort.Tensor('float32', x, [n]) };
  let best = Infinity;
  for (let i = 0; i < 6; i++) {
    const t = performance.now();
    await s.run(feeds);
    best = Math.min(best, performance.now() - t);
  }
  await s.release();
  return (n * 4) / (best / 1000) / 1e9;
}
const bandwidth = await readBandwidth();
console.log(`read bandwidth (ORT ReduceSum over 1 GiB, best of 6): ${bandwidth.toFixed(1)} GB/s`);

// ---- one measurement = one child process ----
type Row = { engine: string; load_s?: number; warm_load_s?: number; vision_ms_per_tile?: number; prefill_tok_s?: number; decode_tok_s?: number; peak_rss_gib?: number; load?: string };
async function measure(engine: string): Promise<Row> {
  const opt = { cwd: root, maxBuffer: 1 << 24, timeout: 1800_000 };
  let out: string;
  if (engine.startsWith('minivl-')) {
    const { dtype, prefillWeights } = splitVariant(engine.slice('minivl-'.length));
    const pw = prefillWeights ? ['--prefill-weights', prefillWeights] : [];
    // The CLI from src/ (scripts/minivl-src.mjs), so the bench measures this checkout, not a stale dist/ build.
    out = (await run(process.execPath, [join(root, 'scripts/minivl-src.mjs'), 'bench', '--model', dir, '--dtype', dtype, ...pw, '--prefill', String(prefill), '--context', String(context), '--steps', String(steps), '--threads', String(threads), '--json'], opt)).stdout;
  } else if (engine === 'torch-fp32') {
    out = (await run('/usr/bin/python3', [join(root, 'bench/reference/internvl_torch.py'), '--dir', dir, '--prefill', String(prefill), '--context', String(context), '--steps', String(steps), '--threads', String(threads)], opt)).stdout;
  } else if (engine.startsWith('llama-')) {
    out = (await run(process.execPath, ['--import', 'tsx', join(root, 'bench/compare/llama-runner.ts'), gguf[engine]!.file, engine, String(prefill), String(context), String(steps), String(threads)], opt)).stdout;
  } else {
    throw new Error(`unknown engine ${engine}`);
  }
  const line = out.trim().split('\n').pop()!;
  return { ...(JSON.parse(line) as Row), engine };
}

const results: Record<string, Row[]> = {};
for (let r = 0; r < rounds; r++) {
  for (const e of engines) {
    const before = la();
    const row = await measure(e);
    row.load = `${before} → ${la()}`;
    (results[e] ??= []).push(row);
    console.log(`round ${r + 1} ${e}: ${JSON.stringify(row)}`);
  }
}

// ---- table: medians over rounds ----
const med = (e: string, k: keyof Row): number | undefined => {
  const xs = (results[e] ?? []).map((x) => x[k]).filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
  return xs.length ? xs[Math.floor(xs.length / 2)] : undefined;
};
const f = (x: number | undefined, d = 1) => (x === undefined ? '—' : x.toFixed(d));
console.log(`\n| engine | vision ms/tile | prefill tok/s | decode tok/s @${context} | decode ceiling tok/s (weight GB/token) | peak RSS GiB |`);
console.log('|---|---|---|---|---|---|');
for (const e of engines) {
  const bytes = minivlBytes[e] ?? gguf[e]?.weightBytesPerToken;
  const ceiling = bytes ? `${f((bandwidth * 1e9) / bytes)} (${f(bytes / 1e9, 2)})` : '—';
  console.log(`| ${e} | ${f(med(e, 'vision_ms_per_tile'), 0)} | ${f(med(e, 'prefill_tok_s'))} | ${f(med(e, 'decode_tok_s'))} | ${ceiling} | ${f(med(e, 'peak_rss_gib'), 2)} |`);
}
const ratio = (a: string, b: string, k: keyof Row) => {
  const x = med(a, k);
  const y = med(b, k);
  return x !== undefined && y !== undefined ? `${(x / y).toFixed(2)}×` : '—';
};
const inv = (a: string, b: string, k: keyof Row) => {
  const x = med(a, k);
  const y = med(b, k);
  return x !== undefined && y !== undefined ? `${(y / x).toFixed(2)}×` : '—';
};
console.log('\nratios (same run, medians):');
console.log(`  decode: int4 / llama q4_0 ${ratio('minivl-int4', 'llama-q4_0', 'decode_tok_s')} (target ≥ 1.5×), int8 / llama q8_0 ${ratio('minivl-int8', 'llama-q8_0', 'decode_tok_s')} (≥ 1×), fp32 / torch ${ratio('minivl-fp32', 'torch-fp32', 'decode_tok_s')}`);
console.log(`  prefill: int8 / llama q4_0 ${ratio('minivl-int8', 'llama-q4_0', 'prefill_tok_s')}, int4 / llama q4_0 ${ratio('minivl-int4', 'llama-q4_0', 'prefill_tok_s')} (≥ 2×); int8 / torch ${ratio('minivl-int8', 'torch-fp32', 'prefill_tok_s')}, int4 / torch ${ratio('minivl-int4', 'torch-fp32', 'prefill_tok_s')} (≥ 3.5×)`);
console.log(`  int4 + int8 prefill weights: prefill / llama q4_0 ${ratio('minivl-int4+prefill-int8', 'llama-q4_0', 'prefill_tok_s')} (≥ 2×), / torch ${ratio('minivl-int4+prefill-int8', 'torch-fp32', 'prefill_tok_s')} (≥ 3.5×); decode / llama q4_0 ${ratio('minivl-int4+prefill-int8', 'llama-q4_0', 'decode_tok_s')}`);
console.log(`  vision: torch / int8 ${inv('minivl-int8', 'torch-fp32', 'vision_ms_per_tile')} (≥ 3.4×), torch / int4 ${inv('minivl-int4', 'torch-fp32', 'vision_ms_per_tile')}, torch / fp32 ${inv('minivl-fp32', 'torch-fp32', 'vision_ms_per_tile')}`);
console.log(`load average at the end: ${la()}`);
