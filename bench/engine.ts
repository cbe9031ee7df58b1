// Engine speed against a roofline reference measured IN THE SAME RUN (bench/engine-roofline.ts): vision
// per tile, a 512-token prefill chunk and cached decode at given contexts, each interleaved with a bare
// ORT graph doing only the same matmuls (same checkpoint weights, same shapes), printed as a % of it.
//   node --import tsx bench/engine.ts --dir DIR [--reps 3] [--steps 12] [--contexts 1024,4096] [--prefill 512]
// Make DIR with `npx minivl dev random-checkpoint --like internvl2-1b --out DIR` (real-size, random weights).
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { openCheckpoint } from '../src/io/checkpoint.ts';
import { loadModelConfig } from '../src/model/config.ts';
import { outputWeightName } from '../src/model/inventory.ts';
import { checkpointWeights } from '../src/model/weights.ts';
import { buildVisionGraph } from '../src/model/vision.ts';
import { buildDecoderGraph, buildEmbedGraph } from '../src/model/decoder.ts';
import type { GraphBuilder } from '../src/graph/builder.ts';
import { Model, DecodeState, createSession, argmax } from '../src/runtime/index.ts';
import { ort } from '../src/runtime/session.ts';
import { weightMatmuls, referenceGraph, type AttentionShape } from './engine-roofline.ts';
import { median } from './stats.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    reps: { type: 'string', default: '3' },
    steps: { type: 'string', default: '12' },
    contexts: { type: 'string', default: '1024,4096' },
    prefill: { type: 'string', default: '512' },
    threads: { type: 'string' },
  },
});
if (!values.dir) throw new Error('usage: bench/engine.ts --dir CHECKPOINT_DIR (see the header)');
const dir = values.dir;
const reps = Number(values.reps);
const steps = Number(values.steps);
const threads = values.threads ? Number(values.threads) : undefined;
const gib = (b: number) => (b / 2 ** 30).toFixed(2);
const peakGiB = () => gib(process.resourceUsage().maxRSS * 1024);
const ms = (x: number) => `${x.toFixed(x < 100 ? 1 : 0)} ms`;
const ortVersion = (await import('onnxruntime-node/package.json', { with: { type: 'json' } }).catch(() => null))?.default?.version ?? '?';
console.log(
  `machine: ${cpus()[0]?.model} × ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB | load avg ${loadavg().map((x) => x.toFixed(2)).join(' ')} | ` +
    `node ${process.version} | onnxruntime-node ${ortVersion} | fp32 CPU EP, intra-op threads ${threads ?? availableParallelism()}`,
);

let t = performance.now();
const m = await Model.load(dir, { intraOpNumThreads: threads });
console.log(`load (3 sessions): ${(performance.now() - t).toFixed(0)} ms, RSS ${gib(process.memoryUsage().rss)} GiB`);
const cfg = m.config;
const { llm, vision: vc } = cfg;

// Our figures first, so the engine's peak RSS is known before the reference sessions exist.
const pv = Float32Array.from({ length: 3 * cfg.imageSize ** 2 }, () => Math.random() * 2 - 1);
await m.encodeImages(pv, 1);
const S = Number(values.prefill);
const H = llm.hiddenSize;
const prefillEmbeds = await m.embed(Array.from({ length: S }, (_, i) => (i * 7919) % llm.vocabSize));
const contexts = values.contexts!.split(',').map(Number);
const rowBytes = llm.numKvHeads * llm.headDim;
const randomKV = (n: number) => Float32Array.from({ length: n * rowBytes }, () => Math.random() - 0.5);

const ours = { vision: [] as number[], prefill: [] as number[], decode: new Map<number, number[]>() };
async function runOurs(kind: 'vision' | 'prefill' | number): Promise<void> {
  if (kind === 'vision') {
    t = performance.now();
    await m.encodeImages(pv, 1);
    ours.vision.push(performance.now() - t);
  } else if (kind === 'prefill') {
    t = performance.now();
    await m.forward({ embeds: prefillEmbeds });
    ours.prefill.push(performance.now() - t);
  } else {
    // Cache filled with random keys/values up to the context (the speed does not depend on values).
    const st = new DecodeState(m);
    const kv = Array.from({ length: llm.numLayers }, () => randomKV(kind));
    st.cache.append(kv, kv);
    let next = argmax(await st.step(1));
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      t = performance.now();
      next = argmax(await st.step(next));
      times.push(performance.now() - t);
    }
    ours.decode.set(kind, [...(ours.decode.get(kind) ?? []), ...times]);
  }
}
await runOurs('vision');
await runOurs('prefill');
for (const c of contexts) await runOurs(c);
const enginePeak = peakGiB();
console.log(`engine peak RSS (before reference sessions): ${enginePeak} GiB`);

// References built from the same checkpoint and the same graph builders.
const ckpt = await openCheckpoint(dir);
const src = checkpointWeights(ckpt);
const sess = { externalFolder: src.externalFolder, intraOpNumThreads: threads };
const nTok = (cfg.imageSize / vc.patchSize) ** 2 + 1;
const visionMms = weightMatmuls(buildVisionGraph(cfg, src)).filter((x) => x.weight.includes('encoder.layers'));
const lmHead = outputWeightName(ckpt, cfg);
const decoderMms = weightMatmuls(buildDecoderGraph(cfg, src, { lmHead }));
const visionAtt: AttentionShape = { layers: vc.numLayers, kvHeads: vc.numHeads, group: 1, headDim: vc.hiddenSize / vc.numHeads };
const llmAtt: AttentionShape = { layers: llm.numLayers, kvHeads: llm.numKvHeads, group: llm.numHeads / llm.numKvHeads, headDim: llm.headDim };
// Weight bytes the sessions must hold: f32 for every weight widened by a Cast, stored bytes otherwise
// (the bf16 embedding table). Engine peak RSS ≈ this + activations means nothing duplicates weights.
const held = (g: GraphBuilder) => {
  const widened = new Set(g.listNodes().filter((n) => n.opType === 'Cast').map((n) => n.inputs[0]!));
  return g.listInitializers().filter((i) => i.role === 'weight').reduce((a, i) => {
    const numel = i.dims.reduce((x, y) => x * y, 1);
    const stored = i.data.kind === 'external' ? i.data.length : i.data.bytes.byteLength;
    return a + (widened.has(i.name) ? 4 * numel : stored);
  }, 0);
};
const heldBytes = held(buildVisionGraph(cfg, src)) + held(buildEmbedGraph(cfg, src)) + held(buildDecoderGraph(cfg, src, { lmHead }));
console.log(`weights held by the 3 sessions (f32 where widened, bf16 embedding table): ${gib(heldBytes)} GiB; engine peak RSS ${enginePeak} GiB`);
const visionRef = referenceGraph(src, visionMms, visionAtt);
const decoderRef = referenceGraph(src, decoderMms, llmAtt, lmHead);
t = performance.now();
const [vSess, dSess] = await Promise.all([
  createSession(visionRef.graph.toBytes(), { ...sess, label: 'vision reference' }),
  createSession(decoderRef.graph.toBytes(), { ...sess, label: 'decoder reference' }),
]);
console.log(`reference sessions created in ${(performance.now() - t).toFixed(0)} ms`);

function refFeeds(inputs: number[], rows: number, att: AttentionShape, Q: number, T: number) {
  const f: Record<string, ort.Tensor> = {};
  for (const w of inputs) f[`x_${w}`] = new ort.Tensor('float32', new Float32Array(rows * w).fill(0.01), [rows, w]);
  if (att === llmAtt) f.x_head = new ort.Tensor('float32', new Float32Array(H).fill(0.01), [1, H]);
  const qd = [att.kvHeads, att.group * Q, att.headDim];
  const kd = [att.kvHeads, T, att.headDim];
  f.att_q = new ort.Tensor('float32', new Float32Array(qd.reduce((a, b) => a * b)).fill(0.01), qd);
  f.att_k = new ort.Tensor('float32', new Float32Array(kd.reduce((a, b) => a * b)).fill(0.01), kd);
  f.att_v = new ort.Tensor('float32', new Float32Array(kd.reduce((a, b) => a * b)).fill(0.01), kd);
  return f;
}
const refTimes = new Map<string, number[]>();
// Fetch one small result: ORT runs every node whatever is fetched, and copies back only what is.
const fetchOf = new Map([[vSess, [visionRef.graph.listOutputs().at(-1)!.name]], [dSess, ['head']]]);
async function runRef(key: string, s: ort.InferenceSession, feeds: Record<string, ort.Tensor>, n = 1) {
  for (let i = 0; i < n; i++) {
    t = performance.now();
    await s.run(feeds, fetchOf.get(s)!);
    refTimes.set(key, [...(refTimes.get(key) ?? []), performance.now() - t]);
  }
}
const vFeeds = refFeeds(visionRef.inputs, nTok, visionAtt, nTok, nTok);
const pFeeds = refFeeds(decoderRef.inputs, S, llmAtt, S, S);
const dFeeds = new Map(contexts.map((c) => [c, refFeeds(decoderRef.inputs, 1, llmAtt, 1, c + 1)]));
await dSess.run(pFeeds, fetchOf.get(dSess)!); // warm-up
await vSess.run(vFeeds, fetchOf.get(vSess)!);

// Interleaved rounds: ours, reference, ours, reference, ...
ours.vision.length = 0;
ours.prefill.length = 0;
ours.decode.clear();
for (let r = 0; r < reps; r++) {
  await runOurs('vision');
  await runRef('vision', vSess, vFeeds);
  await runOurs('prefill');
  await runRef('prefill', dSess, pFeeds);
  for (const c of contexts) {
    await runOurs(c);
    await runRef(`decode ${c}`, dSess, dFeeds.get(c)!, steps);
  }
}

const gflop = (mms: typeof visionMms, rows: number, att: AttentionShape, Q: number, T: number) =>
  (2 * mms.reduce((a, x) => a + (x.weight === lmHead ? 1 : rows) * x.shape[0] * x.shape[1], 0) + att.layers * 4 * att.kvHeads * att.group * Q * T * att.headDim) / 1e9;
const weightGB = (mms: typeof visionMms) => (4 * mms.reduce((a, x) => a + x.shape[0] * x.shape[1], 0)) / 1e9;
function row(label: string, our: number[], ref: number[], fmt: (o: number, r: number) => string) {
  const o = median(our);
  const r = median(ref);
  const [omin, rmin] = [Math.min(...our), Math.min(...ref)];
  console.log(`${label}:\n  ours ${ms(o)} (min ${ms(omin)})  reference ${ms(r)} (min ${ms(rmin)})  → ${((100 * r) / o).toFixed(0)}% of reference (mins: ${((100 * rmin) / omin).toFixed(0)}%)  ${fmt(o, r)}`);
}
const unit = (fn: (x: number) => string) => (o: number, r: number) => `[ours ${fn(o)}, reference ${fn(r)}]`;
console.log(`medians over ${reps} interleaved rounds (decode: ${steps} steps per round):`);
const vG = gflop(visionMms, nTok, visionAtt, nTok, nTok);
row(`vision, 1 tile (${vG.toFixed(0)} GFLOP)`, ours.vision, refTimes.get('vision')!, unit((x) => `${(vG / (x / 1000)).toFixed(0)} GFLOPS`));
const pG = gflop(decoderMms, S, llmAtt, S, S);
row(`prefill ${S} tokens (${pG.toFixed(0)} GFLOP)`, ours.prefill, refTimes.get('prefill')!, unit((x) => `${(pG / (x / 1000)).toFixed(0)} GFLOPS`));
for (const c of contexts) {
  const gb = weightGB(decoderMms) + (llm.numLayers * 2 * (c + 1) * rowBytes * 4) / 1e9;
  row(`decode step at ${c} context (${gb.toFixed(2)} GB)`, ours.decode.get(c)!, refTimes.get(`decode ${c}`)!, unit((x) => `${(gb / (x / 1000)).toFixed(1)} GB/s`));
}
console.log(`load avg at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
await Promise.all([m.release(), vSess.release(), dSess.release()]);
