// Child process of bench/compare.ts: llama.cpp (node-llama-cpp's prebuilt CPU binary, bench/package.json)
// on one GGUF file; prints one JSON line {engine, load_s, prefill_tok_s, decode_tok_s, peak_rss_gib}.
//   node --import tsx bench/compare/llama-runner.ts FILE.gguf ENGINE PREFILL CONTEXT STEPS THREADS
import { peakRssGiB } from '../../src/runtime/bench.ts';

const [file, engine, prefillS, contextS, stepsS, threadsS] = process.argv.slice(2);
const [prefill, context, steps, threads] = [prefillS, contextS, stepsS, threadsS].map(Number) as [number, number, number, number];
// A computed specifier: bench/node_modules is optional (`cd bench && npm install`), the main typecheck must not need it.
const spec = 'node-llama-cpp';
const { getLlama } = (await import(spec)) as { getLlama: (o: object) => Promise<any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
const ids = (n: number, seed: number) => Array.from({ length: n }, (_, i) => ((i + seed) * 7919) % 30000 + 100);

let t = performance.now();
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error', maxThreads: threads });
const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
const ctx = await model.createContext({ contextSize: Math.max(prefill, context + steps) + 64, batchSize: 512, threads: { ideal: threads, min: threads }, sequences: 1 });
const loadS = (performance.now() - t) / 1000;
const seq = ctx.getSequence();

const pre: number[] = [];
for (let r = 0; r < 2; r++) {
  await seq.clearHistory();
  t = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(ids(prefill, r));
  pre.push((performance.now() - t) / 1000);
}
await seq.clearHistory();
await seq.evaluateWithoutGeneratingNewTokens(ids(context, 7));
let n = 0;
let t0 = 0;
for await (const _tok of seq.evaluate([123], { temperature: 0 })) {
  if (n === 0) t0 = performance.now(); // the first yield follows the one fed token: not timed
  if (n++ === steps) break;
}
const decodeTokS = steps / ((performance.now() - t0) / 1000);
console.log(JSON.stringify({ engine, load_s: loadS, prefill_tok_s: prefill / Math.min(...pre), decode_tok_s: decodeTokS, peak_rss_gib: peakRssGiB() }));
await ctx.dispose();
await model.dispose();
await llama.dispose();
