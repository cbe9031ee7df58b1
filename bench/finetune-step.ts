// Training-step throughput and peak RSS of the training graph (LoRA, projector or full mode) next to a
// PyTorch CPU step of the same shapes measured in the same run (bench/reference/train_step.py, Debian's
// python3-torch at /usr/bin/python3). Weights of the checkpoint are used as they are (random ones here).
//   flock /tmp/minivl-heavy.lock node --import tsx bench/finetune-step.ts --model DIR --mode lora|mlp|full [--tokens 512] [--steps 3]
//     [--train-vision] [--drop-path-rate R] [--arena] [--recompute]   (--recompute: per-layer activation recomputation)
//       (full: LLM incl. embedding + mlp1, drop path 0.1 by default, as the trainer)
//     [--ref-steps 1 --ref-warmup 0]   (Debian's torch on the reference BLAS takes minutes per 1B step)
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TrainingSession } from '../src/runtime/training.ts';
import { AdamW, clipGradNorm } from '../src/adapt/train/optimizer.ts';
import { initialParams } from '../src/adapt/train/params.ts';
import { loadTokenizer } from '../src/tokenizer/index.ts';
import { DEFAULT_DROP_PATH_RATE, modeTrainable } from '../src/adapt/train/full.ts';
import { dropPathMasks } from '../src/adapt/train/drop-path.ts';
import type { FinetuneMode } from '../src/adapt/train/trainer.ts';

const { values: o } = parseArgs({ options: { model: { type: 'string' }, mode: { type: 'string', default: 'lora' }, tokens: { type: 'string', default: '512' }, steps: { type: 'string', default: '3' }, rank: { type: 'string', default: '16' }, threads: { type: 'string' }, 'ref-steps': { type: 'string', default: '1' }, 'ref-warmup': { type: 'string', default: '0' }, 'no-reference': { type: 'boolean' }, prepack: { type: 'boolean' }, 'train-vision': { type: 'boolean' }, 'drop-path-rate': { type: 'string' }, arena: { type: 'boolean' }, recompute: { type: 'boolean' } } });
const mode = o.mode as FinetuneMode;
const dropPathRate = Number(o['drop-path-rate'] ?? DEFAULT_DROP_PATH_RATE[mode]);
const model = o.model!;
const L = Number(o.tokens);
const threads = Number(o.threads ?? availableParallelism());
const rank = Number(o.rank);
const labelled = 64;
console.log(`machine: ${cpus()[0]?.model} × ${availableParallelism()} | ${model} | mode ${o.mode} | ${L} tokens (1 tile, ${labelled} labelled) | threads ${threads} | fp32 CPU EP, prepacking ${o.prepack ? 'on' : 'off'} | ORT arena ${o.arena ? 'on' : 'off'} | drop path ${dropPathRate}${o['train-vision'] ? ' | ViT trained' : ''} | recompute ${o.recompute ? 'on' : 'off'}`);

// The reference runs first, in its own process: our trained tensors and optimizer state stay referenced
// until this script ends, and both side by side exceed this machine's memory in full mode (OOM-killed).
let ref: { step_s: number; tokens_per_s: number; peak_rss_gib: number } | null = null;
if (!o['no-reference']) {
  const r = spawnSync('/usr/bin/python3', [join(import.meta.dirname, 'reference', 'train_step.py'), '--config', join(model, 'config.json'), '--mode', o.mode!, '--tokens', String(L), '--rank', String(rank), '--steps', o['ref-steps']!, '--warmup', o['ref-warmup']!, '--threads', String(threads)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) console.log(`reference failed (exit ${r.status})`);
  else {
    ref = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    console.log(JSON.stringify(ref));
  }
}

let t = performance.now();
let micro = 0;
const ts = await TrainingSession.create(model, {
  vision: true,
  trainable: modeTrainable(mode, o['train-vision'] ?? false),
  trainEmbedding: mode === 'full',
  dropPathRate,
  llmLora: o.mode === 'lora' ? { rank, alpha: 2 * rank, dropout: 0 } : undefined,
  intraOpNumThreads: threads,
  disablePrepacking: !(o.prepack ?? false),
  cpuMemArena: o.arena ?? false,
  recompute: o.recompute ?? false,
});
const createS = (performance.now() - t) / 1000;
const tok = await loadTokenizer(model);
const img = tok.tokenToId('<IMG_CONTEXT>')!;
const V = ts.config.llm.vocabSize;
const ids = Array.from({ length: L }, (_, i) => (i >= 8 && i < 8 + 256 ? img : (i * 7919 + 13) % 150000));
const labels = ids.map((id, i) => (i >= L - labelled ? id : -100));
const pixelValues = Float32Array.from({ length: 3 * 448 * 448 }, (_, i) => Math.sin(i) * 1.5);
const params = await initialParams(ts.graph.params, ts.checkpoint, 42);
const opt = new AdamW({ weightDecay: 0.01 });
const step = async () => {
  const masks = dropPathMasks(ts.graph.dropPath, 1, 42, micro++);
  const r = await ts.step({ inputIds: ids, labels, pixelValues, imgContextId: img, masks }, params);
  clipGradNorm(r.grads.values(), 1.0);
  opt.step(params, r.grads, 1e-5);
  return r.loss;
};
await step();
const times: number[] = [];
for (let i = 0; i < Number(o.steps); i++) {
  t = performance.now();
  await step();
  times.push((performance.now() - t) / 1000);
}
times.sort((a, b) => a - b);
const s = times[Math.floor(times.length / 2)]!;
const ours = { impl: 'minivl (ORT training graph)', mode: o.mode, recompute: o.recompute ?? false, tokens: L, vocab: V, threads, session_create_s: createS, step_s: s, tokens_per_s: L / s, peak_rss_gib: process.resourceUsage().maxRSS / 2 ** 20, trainable_params: ts.graph.params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0) };
console.log(JSON.stringify(ours));
await ts.release();

if (ref) console.log(`minivl / pytorch step time: ${(ours.step_s / ref.step_s).toFixed(2)}× (tokens/s ${ours.tokens_per_s.toFixed(1)} vs ${ref.tokens_per_s.toFixed(1)}), peak RSS ${ours.peak_rss_gib.toFixed(2)} vs ${ref.peak_rss_gib.toFixed(2)} GiB`);
