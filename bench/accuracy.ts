// Accuracy of int8 / int4 (and fp16) against this project's fp32 forward on a FULL-SIZE checkpoint (the
// tiny golden models have 64-wide layers = two 32-blocks per row, which overstates quantization error):
// one 448 tile of a real photo + a 300-token prompt with its 256 image tokens; vision embeddings and
// logits rel-L2 at every position, top-1 agreement where the fp32 top-2 margin > 1e-2, 12 greedy tokens
// (recomputed without a cache, like the goldens). One model in memory at a time (fp32 first).
//   flock /tmp/minivl-heavy.lock node --import tsx bench/accuracy.ts --dir /work/ckpt/internvl2-1b [--dtypes int8,int4,int4@128]
//        [--lm-head 4|8|none] [--vision-form F] [--llm-form F] (F: one of LINEAR_FORMS) [--cache DIR]
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Model } from '../src/runtime/model.ts';
import { forwardAll, quantMetrics } from '../src/runtime/parity-quant.ts';
import { defaultQuantPolicy, parsePrecision, LINEAR_FORMS, type LinearForm } from '../src/runtime/precision.ts';
import { fail } from '../src/errors.ts';
import { accuracyInputs } from './accuracy/inputs.ts';

const { values } = parseArgs({ options: { dir: { type: 'string', default: '/work/ckpt/internvl2-1b' }, dtypes: { type: 'string', default: 'int8,int4' }, steps: { type: 'string', default: '12' }, 'lm-head': { type: 'string' }, 'vision-form': { type: 'string' }, 'llm-form': { type: 'string' }, cache: { type: 'string' } } });
// --lm-head 4|8|none, --vision-form / --llm-form blocks|channels override defaultQuantPolicy to measure those choices.
const lmHead = values['lm-head'];
const forms = (v: string | undefined): LinearForm | undefined => (v === undefined ? undefined : (LINEAR_FORMS as readonly string[]).includes(v) ? (v as LinearForm) : fail(`form must be one of ${LINEAR_FORMS.join(', ')}, got '${v}'`));
const [visionForm, llmForm] = [forms(values['vision-form']), forms(values['llm-form'])];
console.log(`machine: ${cpus()[0]?.model} x${availableParallelism()} | load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const steps = Number(values.steps);

const fp32 = await Model.load(values.dir!);
const inp = await accuracyInputs();
const ref = await forwardAll(fp32, inp, steps);
const V = fp32.config.llm.vocabSize;
await fp32.release();
for (const spec of values.dtypes!.split(',')) {
  // DTYPE or DTYPE@BLOCK (a block size other than the default, to measure it)
  const [d, block] = spec.split('@') as [string, string | undefined];
  const dtype = parsePrecision(d);
  const def = defaultQuantPolicy(dtype);
  const quantPolicy = {
    ...def,
    blockSize: block === undefined ? def.blockSize : Number(block),
    lmHeadBits: lmHead === undefined ? def.lmHeadBits : lmHead === 'none' ? null : (Number(lmHead) as 4 | 8),
    visionForm: visionForm ?? def.visionForm,
    llmForm: llmForm ?? def.llmForm,
  };
  const m = await Model.load(values.dir!, { dtype, quantPolicy, weightCacheRoot: values.cache });
  const ours = await forwardAll(m, inp, steps);
  await m.release();
  const r = quantMetrics(ours, ref, V, dtype);
  console.log(JSON.stringify({ dtype, block_size: quantPolicy.blockSize, lm_head_bits: quantPolicy.lmHeadBits, vision_form: quantPolicy.visionForm, llm_form: quantPolicy.llmForm, vit_embeds_rel_l2: r.vit_embeds_rel_l2, logits_rel_l2: r.logits_rel_l2, text_logits_rel_l2: r.text_logits_rel_l2, top1_agreement: r.top1_agreement, top1_rows: r.top1_rows, greedy_equal: r.greedy_equal, greedy_prefix: r.greedy_prefix, failed: r.failed }));
}
