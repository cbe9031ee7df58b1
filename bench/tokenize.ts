// Tokenizer benchmark: load time, encoding 1 MB of mixed English/Chinese text, and encoding the
// prompt of a 12-tile image (3,072 <IMG_CONTEXT> tokens), for the three tokenizer families.
// Run: node --import tsx bench/tokenize.ts [--mb 1] [--reps 3]
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadTokenizer } from '../src/tokenizer/index.ts';
import { ASSETS } from '../test/helpers/paths.ts';
import { assetDir, qwen2TokenizerJson, tempTokenizerDir } from '../test/tokenizer/helpers.ts';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '1' }, reps: { type: 'string', default: '3' } } });
const targetBytes = Math.round(Number(values.mb) * 1_000_000);
const reps = Number(values.reps);

/** Deterministic pseudo-random text: English sentences and Chinese sentences, mixed per paragraph. */
function mixedText(bytes: number): string {
  let seed = 12345;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const words = (
    'the a of and to in is was for on that with as by at from this image shows people car road traffic ' +
    'vehicle left right front camera what how many where which describe detail answer question model ' +
    'vision language large small red blue green building tree sky street driving ego should stop turn ' +
    "pedestrian crossing signal light it's don't we've 2024 3.14 100 42 InternVL Mini-InternVL benchmark"
  ).split(' ');
  const hanzi = Array.from(
    '你是由上海人工智能实验室联合商汤科技开发的书生多模态大模型英文名叫一个有用无害助手请描述这张图片中的内容车辆行人道路左右前方应该停止转弯交通信号灯天空建筑树木红色蓝色绿色数字问题答案',
  );
  const punct = ['，', '。', '！', '？', '；'];
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    let para = '';
    const sentences = 2 + rand(4);
    for (let s = 0; s < sentences; s++) {
      if (rand(2) === 0) {
        const n = 5 + rand(15);
        const ws: string[] = [];
        for (let i = 0; i < n; i++) ws.push(words[rand(words.length)]);
        ws[0] = ws[0][0].toUpperCase() + ws[0].slice(1);
        para += ws.join(' ') + (rand(3) === 0 ? '? ' : '. ');
      } else {
        const n = 8 + rand(25);
        for (let i = 0; i < n; i++) para += hanzi[rand(hanzi.length)];
        para += punct[rand(punct.length)];
      }
    }
    para += '\n\n';
    parts.push(para);
    size += Buffer.byteLength(para);
  }
  return parts.join('');
}

const text = mixedText(targetBytes);
const textBytes = Buffer.byteLength(text);
const imagePrompt = (k: string) =>
  k === '4b'
    ? `<|system|>\nYou are a helpful assistant.<|end|><|user|>\n<img>${'<IMG_CONTEXT>'.repeat(3072)}</img>\nDescribe the image.<|end|><|assistant|>\n`
    : `<|im_start|>system\nYou are a helpful assistant.<|im_end|><|im_start|>user\n<img>${'<IMG_CONTEXT>'.repeat(3072)}</img>\nDescribe the image.<|im_end|><|im_start|>assistant\n`;

const cpu = cpus();
console.log(`machine: ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, node ${process.version}`);
console.log(`text: ${(textBytes / 1e6).toFixed(3)} MB (${text.length} UTF-16 units) mixed English/Chinese; ${reps} runs (first = cold caches)`);

for (const k of ['1b', '2b', '4b']) {
  const dir = join(ASSETS, 'tokenizers', `internvl2-${k}`);
  let t = performance.now();
  const tok = await loadTokenizer(dir);
  const loadMs = performance.now() - t;
  let best = Infinity;
  let first = 0;
  let count = 0;
  for (let r = 0; r < reps; r++) {
    t = performance.now();
    count = tok.encode(text).length;
    const ms = performance.now() - t;
    if (r === 0) first = ms; // cold: word/part caches empty
    best = Math.min(best, ms);
  }
  const prompt = imagePrompt(k);
  let bestPrompt = Infinity;
  for (let r = 0; r < 20; r++) {
    t = performance.now();
    tok.encode(prompt);
    bestPrompt = Math.min(bestPrompt, performance.now() - t);
  }
  const ids = tok.encode(text);
  t = performance.now();
  tok.decode(ids, { skipSpecialTokens: true });
  const decodeMs = performance.now() - t;
  console.log(
    `${k}: load ${loadMs.toFixed(0)} ms | encode 1 MB: first ${first.toFixed(0)} ms, best ${best.toFixed(0)} ms (${count} ids)` +
      ` | 12-tile image prompt: ${bestPrompt.toFixed(2)} ms | decode all: ${decodeMs.toFixed(0)} ms`,
  );
}

// Reference, same run: @huggingface/tokenizers running the whole pipeline on the 1b vocabulary written as a
// tokenizer.json (a folder with only tokenizer.json loads through it). Same text, same ids expected.
{
  const { dir, cleanup } = tempTokenizerDir({ from: assetDir('1b'), names: ['tokenizer_config.json'] }, { 'tokenizer.json': qwen2TokenizerJson() });
  try {
    const ours = await loadTokenizer(assetDir('1b'));
    const ref = await loadTokenizer(dir);
    const time = (f: () => unknown) => {
      let best = Infinity;
      for (let r = 0; r < reps; r++) {
        const t = performance.now();
        f();
        best = Math.min(best, performance.now() - t);
      }
      return best;
    };
    const same = JSON.stringify(ours.encode(text)) === JSON.stringify(ref.encode(text));
    const oursMs = time(() => ours.encode(text));
    const refMs = time(() => ref.encode(text));
    console.log(
      `reference (@huggingface/tokenizers, 1b as tokenizer.json): encode 1 MB best ${refMs.toFixed(0)} ms vs ours ${oursMs.toFixed(0)} ms` +
        ` → ${(refMs / oursMs).toFixed(2)}× | ids identical: ${same}`,
    );
  } finally {
    cleanup();
  }
}
