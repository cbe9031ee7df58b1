// Real-shape engine timings on a RANDOM-weight checkpoint (no real weights are reachable here):
// session creation, one 448 tile through InternViT+mlp1, a prefill and per-token cached decode.
//   node --import tsx bench/engine-real-shape.ts [config-name=internvl2-1b] [prefill=800] [layers=all]
// Writes the checkpoint to a temp folder and removes it afterwards.
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir, cpus, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseModelConfig } from '../src/model/config.ts';
import { expectedTensors } from '../src/model/inventory.ts';
import { writeSafetensors } from '../src/io/safetensors.ts';
import { f32ToBf16 } from '../src/io/dtype.ts';
import { Model, DecodeState, argmax } from '../src/runtime/index.ts';

const [name = 'internvl2-1b', prefillArg = '800', layersArg] = process.argv.slice(2);
const json = JSON.parse(await readFile(new URL(`../test/fixtures/configs/${name}.json`, import.meta.url), 'utf8'));
if (layersArg) json.llm_config.num_hidden_layers = Number(layersArg);
const cfg = parseModelConfig(json, name);
console.log(`machine: ${cpus()[0]?.model} × ${availableParallelism()} | config ${name} (llm layers ${cfg.llm.numLayers}) | fp32 CPU EP`);

const dir = await mkdtemp(join(tmpdir(), 'minivl-bench-'));
try {
  // Random N(0, 0.02)-ish bf16 pool, tiled into every tensor; norm / layer-scale weights ≈ 1.
  const pool = f32ToBf16(Float32Array.from({ length: 1 << 20 }, () => (Math.random() + Math.random() + Math.random() - 1.5) * 0.035));
  const ones = f32ToBf16(new Float32Array(1 << 16).fill(1));
  const tensors = expectedTensors(cfg).map((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const data = new Uint16Array(n);
    const src = /norm|layernorm|mlp1\.0\.weight/.test(t.name) && !t.name.includes('bias') ? ones : pool;
    for (let o = 0; o < n; o += src.length) data.set(src.subarray(0, Math.min(src.length, n - o)), o);
    return { name: t.name, dtype: 'BF16' as const, shape: t.shape, data };
  });
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  tensors.length = 0;
  await writeFile(join(dir, 'config.json'), JSON.stringify(json));

  const rss = () => `${(process.memoryUsage().rss / 2 ** 30).toFixed(2)} GiB RSS`;
  let t = performance.now();
  const m = await Model.load(dir);
  console.log(`load (3 sessions): ${((performance.now() - t) / 1000).toFixed(2)} s, ${rss()}`);

  const pv = Float32Array.from({ length: 3 * 448 * 448 }, () => Math.random() * 2 - 1);
  await m.encodeImages(pv, 1);
  t = performance.now();
  await m.encodeImages(pv, 1);
  console.log(`vision, 1 tile: ${(performance.now() - t).toFixed(0)} ms`);

  const S = Number(prefillArg);
  const ids = Array.from({ length: S }, (_, i) => (i * 7919) % cfg.llm.vocabSize);
  const st = new DecodeState(m);
  t = performance.now();
  let logits = await st.feed(await m.embed(ids));
  console.log(`prefill ${S} tokens (logits of the last only): ${((performance.now() - t) / 1000).toFixed(2)} s, ${rss()}`);
  const times: number[] = [];
  for (let i = 0; i < 12; i++) {
    const next = argmax(logits);
    t = performance.now();
    logits = await st.step(next);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`decode step at P≈${S}: median ${times[6]!.toFixed(1)} ms/token (min ${times[0]!.toFixed(1)}), ${rss()}`);
  await m.release();
} finally {
  await rm(dir, { recursive: true, force: true });
}
