// Time to first token for one 1920×1080 JPEG at max_num 12 (a 4×2 grid + thumbnail = 9 tiles, 2,304 image
// tokens) on a full-size checkpoint, per precision, each in its own process (peak RSS per precision),
// alternating precisions over rounds. The JPEG is encoded here from golden/images/wide_1920x1080.png.
//   flock /tmp/minivl-heavy.lock node --import tsx bench/ttft.ts --dir /work/ckpt/internvl2-1b [--dtypes fp32,int4,int4+prefill-int8] [--rounds 1]
// (`P+prefill-W`: precision P with prefill weights W, bench/variant.ts.)
import { execFile } from 'node:child_process';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import sharp from 'sharp';
import { MiniVL } from '../src/index.ts';
import { parsePrecision, parsePrefillWeights } from '../src/runtime/precision.ts';
import { peakRssGiB } from '../src/runtime/bench.ts';
import { splitVariant } from './variant.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/work/ckpt/internvl2-1b' },
    dtypes: { type: 'string', default: 'fp32,int4' },
    rounds: { type: 'string', default: '1' },
    child: { type: 'string' },
    jpeg: { type: 'string' },
  },
});
const la = () => loadavg().map((x) => x.toFixed(2)).join(' ');

if (values.child) {
  // One precision: load (weights converted beforehand by a warm-up load), then ask about the image.
  const { dtype, prefillWeights } = splitVariant(values.child);
  const vl = await MiniVL.load(values.dir!, { dtype: parsePrecision(dtype), prefillWeights: prefillWeights === undefined ? undefined : parsePrefillWeights(prefillWeights) });
  const t = performance.now();
  let first = 0;
  const s = vl.chatStream({ images: values.jpeg!, question: 'Describe the image.', maxNum: 12, generation: { maxNewTokens: 1 } });
  for await (const _ of s) if (!first) first = performance.now() - t;
  const r = await s.result;
  console.log(JSON.stringify({ dtype: values.child, ttft_s: first / 1000, prompt_tokens: r.promptTokens, ...Object.fromEntries(Object.entries(r.timings).map(([k, v]) => [k.replace(/Ms$/, '_s'), v / 1000])), peak_rss_gib: peakRssGiB() }));
} else {
  console.log(`machine: ${cpus()[0]?.model} x${availableParallelism()} | node ${process.version} | load ${la()}`);
  const png = new URL('../../shared/golden/images/wide_1920x1080.png', import.meta.url).pathname;
  const jpeg = join(tmpdir(), `minivl-ttft-${process.pid}.jpg`);
  await sharp(png).jpeg({ quality: 90 }).toFile(jpeg);
  const run = promisify(execFile);
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const d of values.dtypes!.split(',')) {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--dir', values.dir!, '--child', d, '--jpeg', jpeg], { maxBuffer: 1 << 22 });
      console.log(`${stdout.trim()}  (load ${la()})`);
    }
  }
}
