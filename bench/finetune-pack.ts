// Packed training throughput (training.md §5.2): one pack of K samples (block-diagonal causal mask,
// positions restarting per sample, K tiles) against the same K samples trained one by one — the
// non-packed trainer's way — measured in the same run on the same training session (LoRA on the LLM).
//   flock /tmp/minivl-heavy.lock node --import tsx bench/finetune-pack.ts --model DIR [--samples 2] [--tokens 512] [--steps 2] [--threads N]
// --tokens is per sample (each has one 448×448 tile = 256 image tokens and 64 supervised labels).
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { TrainingSession } from '../src/runtime/training.ts';
import { initialParams } from '../src/adapt/train/params.ts';
import { packedBatch } from '../src/adapt/train/packed-data.ts';
import type { StreamSample } from '../src/adapt/train/replay.ts';
import { loadTokenizer } from '../src/tokenizer/index.ts';

const { values: o } = parseArgs({ options: { model: { type: 'string' }, samples: { type: 'string', default: '2' }, tokens: { type: 'string', default: '512' }, steps: { type: 'string', default: '2' }, rank: { type: 'string', default: '16' }, threads: { type: 'string' } } });
const K = Number(o.samples);
const L = Number(o.tokens);
const threads = Number(o.threads ?? availableParallelism());
const rank = Number(o.rank);
console.log(`machine: ${cpus()[0]?.model} × ${availableParallelism()} | ${o.model} | LoRA r${rank} | pack of ${K} × ${L} tokens (1 tile, 64 labelled each) vs the ${K} one by one | threads ${threads} | fp32 CPU EP`);

const ts = await TrainingSession.create(o.model!, { vision: true, trainable: [], llmLora: { rank, alpha: 2 * rank, dropout: 0 }, intraOpNumThreads: threads });
const tok = await loadTokenizer(o.model!);
const img = tok.tokenToId('<IMG_CONTEXT>')!;
const samples: StreamSample[] = Array.from({ length: K }, (_, k) => {
  const ids = Array.from({ length: L }, (_, i) => (i >= 8 && i < 8 + 256 ? img : (i * 7919 + 13 + k * 104729) % 150000));
  return {
    inputIds: ids, labels: ids.map((id, i) => (i >= L - 64 ? id : -100)), numTiles: 1, numImageTokens: [256], imageFlags: [1],
    pixelValues: Float32Array.from({ length: 3 * 448 * 448 }, (_, i) => Math.sin(i + k) * 1.5), origin: { replay: false, position: k },
  };
});
const params = await initialParams(ts.graph.params, ts.checkpoint, 42);
const pack = packedBatch(samples, 'square');
const timed = async (f: () => Promise<unknown>) => {
  await f(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < Number(o.steps); i++) {
    const t = performance.now();
    await f();
    times.push((performance.now() - t) / 1000);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
};
const packedS = await timed(() => ts.step({ ...pack, imgContextId: img }, params));
const packedRss = process.resourceUsage().maxRSS / 2 ** 20;
const aloneS = await timed(async () => { for (const s of samples) await ts.step({ ...s, imgContextId: img }, params); });
await ts.release();
const tokens = K * L;
console.log(JSON.stringify({ impl: 'packed', samples: K, tokens, step_s: packedS, tokens_per_s: tokens / packedS, peak_rss_gib: packedRss }));
console.log(JSON.stringify({ impl: 'one by one', samples: K, tokens, step_s: aloneS, tokens_per_s: tokens / aloneS, peak_rss_gib_whole_run: process.resourceUsage().maxRSS / 2 ** 20 }));
console.log(`packed / one-by-one time: ${(packedS / aloneS).toFixed(2)}× (tokens/s ${(tokens / packedS).toFixed(1)} vs ${(tokens / aloneS).toFixed(1)})`);
