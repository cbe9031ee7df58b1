// In-process A/B of quantization policies: one model per variant loaded side by side, then rounds that run
// every variant once in turn (interleaved, so machine noise spreads over all of them): vision ms per 448
// tile, prefill tok/s of 1,024 tokens (reserved cache, chunked as chat does) and decode tok/s at 1k context.
//   flock /tmp/minivl-heavy.lock node --import tsx bench/policy-ab.ts --dir /work/ckpt/internvl2-1b
//        [--dtype int8] [--llm-forms normed-channels,normed-channels-rows] [--vision-form rows]
//        [--what prefill,decode,vision] [--rounds 5] [--cache DIR]
// Each variant is the precision's default policy with the LLM linears in one of LINEAR_FORMS.
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Model } from '../src/runtime/model.ts';
import { DecodeState } from '../src/runtime/decode.ts';
import { defaultQuantPolicy, parsePrecision, LINEAR_FORMS, type LinearForm } from '../src/runtime/precision.ts';
import { syntheticIds } from '../src/runtime/bench.ts';
import { fail } from '../src/errors.ts';
import { median } from './stats.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/work/ckpt/internvl2-1b' }, dtype: { type: 'string', default: 'int8' },
    'llm-forms': { type: 'string', default: 'normed-channels,normed-channels-rows' }, 'vision-form': { type: 'string' },
    what: { type: 'string', default: 'prefill,decode' }, rounds: { type: 'string', default: '5' }, cache: { type: 'string' },
  },
});
const form = (v: string): LinearForm => ((LINEAR_FORMS as readonly string[]).includes(v) ? (v as LinearForm) : fail(`form must be one of ${LINEAR_FORMS.join(', ')}, got '${v}'`));
const dtype = parsePrecision(values.dtype!);
const what = new Set(values.what!.split(','));
const rounds = Number(values.rounds);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`machine: ${cpus()[0]?.model} x${availableParallelism()} | load ${load()} | ${values.dir} ${dtype} | ${rounds} rounds of ${[...what].join(', ')}`);

const variants: { name: string; model: Model; results: Record<string, number[]> }[] = [];
for (const f of values['llm-forms']!.split(',')) {
  const def = defaultQuantPolicy(dtype);
  const quantPolicy = { ...def, llmForm: form(f), ...(values['vision-form'] ? { visionForm: form(values['vision-form']) } : {}) };
  variants.push({ name: f, model: await Model.load(values.dir!, { dtype, quantPolicy, weightCacheRoot: values.cache }), results: {} });
}
const size = variants[0]!.model.config.imageSize;
const pixels = new Float32Array(3 * size * size).map((_, i) => Math.sin(i * 0.37));
for (let r = 0; r < rounds; r++) {
  for (const v of variants) {
    const push = (k: string, x: number) => (v.results[k] ??= []).push(x);
    if (what.has('vision')) {
      const t = performance.now();
      await v.model.encodeImages(pixels, 1);
      push('vision_ms', performance.now() - t);
    }
    if (what.has('prefill')) {
      const st = new DecodeState(v.model, 1024 + 8);
      const embeds = await v.model.embed(syntheticIds(1024, 100, 30000, r + 1));
      const t = performance.now();
      await st.feed(embeds);
      push('prefill_tok_s', 1024 / ((performance.now() - t) / 1000));
    }
    if (what.has('decode')) {
      const st = new DecodeState(v.model, 1024 + 40);
      await st.feed(await v.model.embed(syntheticIds(1024, 100, 30000, 7)));
      const ids = syntheticIds(17, 100, 30000, 9);
      await st.step(ids[0]!);
      const t = performance.now();
      for (let i = 1; i < ids.length; i++) await st.step(ids[i]!);
      push('decode_tok_s', (ids.length - 1) / ((performance.now() - t) / 1000));
    }
  }
}
for (const v of variants) {
  console.log(`${v.name}: ${Object.entries(v.results).map(([k, xs]) => `${k} median ${median(xs).toFixed(1)} (${xs.map((x) => x.toFixed(0)).join(' / ')})`).join(' | ')}`);
  await v.model.release();
}
console.log(`load at the end: ${load()}`);
