// How far a random full-size network amplifies weight rounding, apart from any quantization scheme: a copy
// of the checkpoint whose LLM linear weights (q/k/v/o/gate/up/down) carry Gaussian noise of the power of
// int8 per-channel rounding (per row: step = max |w| / 127, rms = step / √12, times --scale), everything
// else byte-identical; then the fp32 forward of both on bench/accuracy.ts's inputs (logits rel-L2, top-1
// agreement, greedy). Noise stands for rounding error without its form, so what is left is the network.
//   node --import tsx bench/accuracy-noise.ts --dir /work/ckpt/internvl2-1b [--scale 1,0.25] [--work DIR]
import { copyFile, mkdir, open, readdir, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Model } from '../src/runtime/model.ts';
import { forwardAll, quantMetrics } from '../src/runtime/parity-quant.ts';
import { accuracyInputs } from './accuracy/inputs.ts';
import { SafetensorsFile } from '../src/io/safetensors.ts';

const { values } = parseArgs({ options: { dir: { type: 'string', default: '/work/ckpt/internvl2-1b' }, scale: { type: 'string', default: '1,0.25' }, work: { type: 'string' } } });
const dir = values.dir!;
const work = values.work ?? join(tmpdir(), 'minivl-accuracy-noise');
console.log(`machine: ${cpus()[0]?.model} x${availableParallelism()} | load ${loadavg().map((x) => x.toFixed(2)).join(' ')} | ${dir}`);

// Deterministic standard normals (Box–Muller over a 32-bit LCG).
let seed = 12345;
const uniform = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bf16ToF32 = (u: number) => ((u32[0] = u << 16), f32[0]!);
const f32ToBf16 = (x: number) => {
  f32[0] = x;
  const u = u32[0]!;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff; // round to nearest even
};

async function noisyCopy(scale: number): Promise<string> {
  const out = join(work, `scale-${scale}`);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  for (const f of await readdir(dir)) await copyFile(join(dir, f), join(out, f));
  for (const f of (await readdir(out)).filter((x) => x.endsWith('.safetensors'))) {
    const st = await SafetensorsFile.open(join(out, f));
    const fh = await open(join(out, f), 'r+');
    try {
      for (const t of st.tensors.values()) {
        if (!/^language_model\..*proj\.weight$/.test(t.name) || t.dtype !== 'BF16' || t.shape.length !== 2) continue;
        const [rows, cols] = t.shape as [number, number];
        const bytes = Buffer.alloc(rows * cols * 2);
        await fh.read(bytes, 0, bytes.length, t.offset);
        const u16 = new Uint16Array(bytes.buffer, bytes.byteOffset, rows * cols);
        for (let r = 0; r < rows; r++) {
          let amax = 0;
          for (let c = 0; c < cols; c++) amax = Math.max(amax, Math.abs(bf16ToF32(u16[r * cols + c]!)));
          const sigma = (amax / 127 / Math.sqrt(12)) * scale;
          for (let c = 0; c < cols; c++) u16[r * cols + c] = f32ToBf16(bf16ToF32(u16[r * cols + c]!) + normal() * sigma);
        }
        await fh.write(bytes, 0, bytes.length, t.offset);
      }
    } finally {
      await fh.close();
    }
  }
  return out;
}

const inp = await accuracyInputs();
const base = await Model.load(dir);
const ref = await forwardAll(base, inp, 12);
const V = base.config.llm.vocabSize;
await base.release();
for (const scale of values.scale!.split(',').map(Number)) {
  const copy = await noisyCopy(scale);
  const m = await Model.load(copy);
  const r = quantMetrics(await forwardAll(m, inp, 12), ref, V, 'fp32', undefined);
  await m.release();
  await rm(copy, { recursive: true, force: true });
  console.log(JSON.stringify({ noise: `${scale} × int8 per-channel rounding`, logits_rel_l2: r.logits_rel_l2, text_logits_rel_l2: r.text_logits_rel_l2, top1_agreement: r.top1_agreement, greedy_equal: r.greedy_equal }));
}
