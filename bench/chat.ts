// End-to-end chat figures on a FULL-SIZE random-weight checkpoint (no real weights are reachable here):
// load time, time to first token for one 448x448 image, cached decode tokens/s at 1k and 4k context,
// peak RSS. Float32 on the ONNX Runtime CPU provider.
//   node --import tsx bench/chat.ts [--like internvl2-1b] [--dir DIR] [--tokens 32] [--keep]
// Without --dir it writes the checkpoint (~1.9 GB bf16 for 1B) to a temp folder and deletes it at the end.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeRandomCheckpoint } from '../src/dev/random-checkpoint.ts';
import { MiniVL, generate } from '../src/index.ts';

const { values } = parseArgs({
  options: {
    like: { type: 'string', default: 'internvl2-1b' },
    dir: { type: 'string' },
    tokens: { type: 'string', default: '32' },
    keep: { type: 'boolean', default: false },
  },
});
const decodeTokens = Number(values.tokens);
const image = new URL('../../shared/golden/images/square_448.png', import.meta.url).pathname;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rssGiB = () => (process.memoryUsage().rss / 2 ** 30).toFixed(2);

const ortVersion = (await import('onnxruntime-node/package.json', { with: { type: 'json' } }).catch(() => null))?.default?.version ?? '?';
console.log(
  `machine: ${cpus()[0]?.model} × ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB | node ${process.version} | onnxruntime-node ${ortVersion} | fp32, CPU EP, default threads`,
);

let tmp: string | null = null;
let dir = values.dir;
try {
  if (!dir) {
    tmp = await mkdtemp(join(tmpdir(), 'minivl-bench-chat-'));
    dir = join(tmp, values.like!);
    const t = performance.now();
    const r = await writeRandomCheckpoint({ like: values.like!, out: dir });
    console.log(`checkpoint: random ${values.like} (${(r.params / 1e9).toFixed(3)} B params, ${(r.tensorBytes / 2 ** 30).toFixed(2)} GiB bf16) written in ${s(performance.now() - t)}`);
  }

  let t = performance.now();
  const vl = await MiniVL.load(dir);
  console.log(`load (config, checkpoint, 3 ORT sessions, tokenizer): ${s(performance.now() - t)}, RSS ${rssGiB()} GiB`);

  // Time to first token: one 448x448 image (1 tile, 256 image tokens), greedy, from the call to the first token.
  for (const label of ['cold', 'warm']) {
    t = performance.now();
    let first = 0;
    const stream = vl.chatStream({ images: image, question: 'Describe the image.', maxNum: 12, generation: { maxNewTokens: 4 } });
    for await (const _ of stream) if (!first) first = performance.now() - t;
    const r = await stream.result;
    console.log(
      `time to first token (${label}), 1 tile, ${r.promptTokens}-token prompt: ${s(first)} ` +
        `(preprocess ${s(r.timings.preprocessMs)}, vision+embed ${s(r.timings.encodeMs)}, prefill ${s(r.timings.prefillMs)})`,
    );
  }

  // Cached decode speed at a given context: prefill a text prompt of ~N tokens, then decode `decodeTokens`.
  const filler = 'The quick brown fox jumps over the lazy dog while the cat watches from the window. ';
  for (const ctx of [1024, 4096]) {
    let text = '';
    let ids: number[] = [];
    while (ids.length < ctx - decodeTokens) {
      text += filler;
      ids = vl.tokenizer.encode(text);
    }
    ids = ids.slice(0, ctx - decodeTokens);
    const embeds = await vl.model.embed(ids);
    // Stop token = <IMG_CONTEXT> (never chosen in practice), so every run decodes the full count.
    const g = generate({
      model: vl.model, tokenizer: vl.tokenizer, embeds,
      sepTokenId: vl.tokenizer.tokenToId('<IMG_CONTEXT>')!, sepText: '\u0000never\u0000',
      options: { maxNewTokens: decodeTokens },
    });
    let tFirst = 0;
    let n = 0;
    const t0 = performance.now();
    for await (const _ of g) if (n++ === 0) tFirst = performance.now();
    const tEnd = performance.now();
    const perTok = (tEnd - tFirst) / (n - 1);
    console.log(
      `decode at ${ctx} context: prefill ${ids.length} tokens ${s(tFirst - t0)}, ` +
        `${(1000 / perTok).toFixed(1)} tokens/s (${perTok.toFixed(1)} ms/token over ${n - 1} steps), RSS ${rssGiB()} GiB`,
    );
  }
  await vl.release();
  console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB`);
} finally {
  if (tmp && !values.keep) await rm(tmp, { recursive: true, force: true });
  else if (tmp) console.log(`kept ${tmp}`);
}
