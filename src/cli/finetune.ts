/**
 * `minivl finetune`: LoRA or projector fine-tuning on a meta file (src/adapt/train). Thin: flags are
 * parsed here, the work is the library's; progress goes to stderr, the result is one JSON line.
 */
import { finetune, type FinetuneMode } from '../adapt/train/trainer.ts';
import { fail } from '../errors.ts';
import { inputDir, inputFile, intFlag, numFlag, parseCommandArgs, printJson, required, type CommandSpec } from './args.ts';

const CMD: CommandSpec = {
  name: 'finetune',
  help: `usage: minivl finetune --model DIR --meta FILE.json --mode lora|mlp --out DIR [options]

Fine-tunes an InternVL2 checkpoint on the data sets of a meta file (minivl adapt): one record per
micro-batch, AdamW, warmup + cosine, clipping at global norm 1.0, checkpoints every --save-steps and
at the end. Writes OUT/log.jsonl, OUT/loss.svg, OUT/adapter (LoRA, PEFT layout) and OUT/merged (a full
checkpoint that minivl chat loads). Prints one JSON line when done.

  --model DIR           checkpoint folder
  --meta FILE           meta file (InternVL format: {name: {root, annotation, repeat_time, ...}})
  --mode M              lora (LLM LoRA, all else frozen) | mlp (projector only)
  --out DIR             run folder (refused if it exists, unless --resume or --force)
  --lora-rank R         LLM LoRA rank (default 16; alpha = 2R unless --lora-alpha)
  --lora-alpha A        LoRA alpha
  --lora-dropout P      dropout on the LoRA input (default 0.05)
  --vision-lora-rank R  also LoRA on InternViT (attn.qkv, attn.proj, mlp.fc1, mlp.fc2; default off)
  --lr X                peak learning rate (default 4e-5)
  --weight-decay X      decoupled weight decay (default 0.01)
  --warmup-ratio X      warmup fraction of the steps (default 0.03)
  --max-steps N         optimizer steps (default: records × epochs / grad-accum)
  --epochs N            passes over the data (default 1; ignored with --max-steps)
  --grad-accum N        micro-batches per optimizer step (default 1)
  --max-length N        max tokens per sample (default 4096)
  --max-num N           max tiles per image unless the data set sets max_dynamic_patch (default 6)
  --save-steps N        checkpoint every N steps (default 200)
  --seed N              data order, LoRA init and dropout (default 42)
  --merged-dtype D      bf16 (default, as the reference saves) | f32 for the changed tensors of OUT/merged
  --threads N           ONNX Runtime threads (default: all cores)
  --resume              continue the run in OUT from its latest checkpoint (same flags)
  --force               start over, deleting OUT
  -h, --help            this help
`,
};

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(CMD, {
    args: argv,
    options: {
      model: { type: 'string' }, meta: { type: 'string' }, mode: { type: 'string' }, out: { type: 'string' },
      'lora-rank': { type: 'string' }, 'lora-alpha': { type: 'string' }, 'lora-dropout': { type: 'string' },
      'vision-lora-rank': { type: 'string' }, lr: { type: 'string' }, 'weight-decay': { type: 'string' },
      'warmup-ratio': { type: 'string' }, 'max-steps': { type: 'string' }, epochs: { type: 'string' },
      'grad-accum': { type: 'string' }, 'max-length': { type: 'string' }, 'max-num': { type: 'string' },
      'save-steps': { type: 'string' }, seed: { type: 'string' }, 'merged-dtype': { type: 'string' },
      threads: { type: 'string' }, resume: { type: 'boolean' }, force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (!args) return 0;
  const v = args.values;
  const modelDir = inputDir('--model', required(CMD, '--model', v.model));
  const metaFile = inputFile('--meta', required(CMD, '--meta', v.meta));
  const mode = required(CMD, '--mode', v.mode);
  if (mode === 'full') fail('--mode full is not available yet (use lora or mlp)');
  if (mode !== 'lora' && mode !== 'mlp') fail(`--mode must be lora or mlp, got '${mode}'`);
  const outDir = required(CMD, '--out', v.out);
  if (v.resume && v.force) fail('--resume and --force exclude each other');
  const mergedDtype = v['merged-dtype'] ?? 'bf16';
  if (mergedDtype !== 'bf16' && mergedDtype !== 'f32') fail(`--merged-dtype must be bf16 or f32, got '${mergedDtype}'`);
  const lr = numFlag('--lr', v.lr);
  if (lr !== undefined && !(lr > 0)) fail(`--lr must be positive, got '${v.lr}'`);
  const dropout = numFlag('--lora-dropout', v['lora-dropout']);
  if (dropout !== undefined && !(dropout >= 0 && dropout < 1)) fail(`--lora-dropout must be in [0, 1), got '${v['lora-dropout']}'`);

  const t0 = Date.now();
  const r = await finetune({
    modelDir, metaFile, outDir, mode: mode as FinetuneMode,
    loraRank: intFlag('--lora-rank', v['lora-rank'], { min: 1 }),
    loraAlpha: numFlag('--lora-alpha', v['lora-alpha']),
    loraDropout: dropout,
    visionLoraRank: intFlag('--vision-lora-rank', v['vision-lora-rank'], { min: 0 }),
    lr,
    weightDecay: numFlag('--weight-decay', v['weight-decay']),
    warmupRatio: numFlag('--warmup-ratio', v['warmup-ratio']),
    maxSteps: intFlag('--max-steps', v['max-steps'], { min: 1 }),
    epochs: intFlag('--epochs', v.epochs, { min: 1 }),
    gradAccum: intFlag('--grad-accum', v['grad-accum'], { min: 1 }),
    maxLength: intFlag('--max-length', v['max-length'], { min: 16 }),
    maxDynamicPatch: intFlag('--max-num', v['max-num'], { min: 1, max: 40 }),
    saveSteps: intFlag('--save-steps', v['save-steps'], { min: 1 }),
    seed: intFlag('--seed', v.seed, { min: 0 }),
    mergedDtype: mergedDtype === 'f32' ? 'F32' : 'BF16',
    threads: intFlag('--threads', v.threads, { min: 1 }),
    resume: v.resume ?? false,
    force: v.force ?? false,
    warn: (m) => process.stderr.write(`minivl: finetune: ${m}\n`),
    progress: (p) => {
      const eta = Math.round(p.etaS);
      process.stderr.write(`step ${p.step}/${p.totalSteps}  loss ${p.loss.toFixed(4)}  lr ${p.lr.toExponential(2)}  ${p.tokens_per_s.toFixed(0)} tok/s  ETA ${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, '0')}\n`);
    },
  });
  printJson({ steps: r.steps, final_loss: r.finalLoss, out: r.outDir, adapter: r.adapterDir, merged: r.mergedDir, seconds: (Date.now() - t0) / 1000 });
  return 0;
}
