/**
 * `minivl finetune`: LoRA, projector or full fine-tuning on a meta file (src/adapt/train). Thin: flags are
 * parsed here, the work is the library's; progress goes to stderr, the result is one JSON line.
 */
import { finetune, type FinetuneMode } from '../adapt/train/trainer.ts';
import { formatBeforeAfter, type EvalGuardOptions } from '../adapt/train/eval-guard.ts';
import { MAX_TILES } from '../image/index.ts';
import { fail } from '../errors.ts';
import { inputDir, inputFile, intFlag, numFlag, parseCommandArgs, printJson, required, type CommandSpec } from './args.ts';

const CMD: CommandSpec = {
  name: 'finetune',
  help: `usage: minivl finetune --model DIR --meta FILE.json --mode lora|mlp|full --out DIR [options]

Fine-tunes an InternVL2 checkpoint on the data sets of a meta file (minivl adapt): one record per
micro-batch (or one pack of records with --batch-tokens), AdamW, warmup + cosine, clipping at global
norm 1.0, checkpoints every --save-steps and at the end. Writes OUT/log.jsonl, OUT/loss.svg, OUT/adapter (LoRA, PEFT layout) and OUT/merged (a full
checkpoint that minivl chat loads). Prints one JSON line when done.

  --model DIR           checkpoint folder
  --meta FILE           meta file (InternVL format: {name: {root, annotation, repeat_time, ...}})
  --mode M              lora (LLM LoRA, all else frozen) | mlp (projector only) | full (LLM incl. the
                        token embedding + projector; ViT frozen unless --train-vision)
  --train-vision        full mode: also train InternViT (the domain-adaptation setting)
  --drop-path-rate R    InternViT drop path, linspace(0, R) over the layers, active even in a frozen ViT
                        (default 0.1 for full as the released full/domain scripts, 0 for lora and mlp)
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
  --batch-tokens N      pack samples into sequences of at most N tokens (max_packed_tokens; the domain
                        scripts use 16384); samples in a pack do not attend to each other. Needs --max-steps
  --batch-tiles N       at most N tiles per pack (num_images_expected, default 48)
  --max-buffers N       packs held open while packing (max_buffer_size, default 20)
  --loss-reduction R    token | sample | square (default square, as all domain scripts): per-sample loss
                        weight 1, 1/n or 1/sqrt(n) inside a pack; needs --batch-tokens
  --replay META         forgetting guard: mix general data from a second meta file into the stream
  --replay-ratio X      share of the samples drawn from --replay (default 0.2); log.jsonl counts them
  --merged-dtype D      bf16 | f32 for the changed tensors of OUT/merged (default: the source checkpoint's
                        own dtype: bf16 for released checkpoints, as the reference saves; f32 stays f32)
  --eval-before-after B forgetting guard: score benchmark(s) B (as minivl eval run --bench) on --model
                        before training and on OUT/merged after it; prints before, after and the
                        difference, writes OUT/eval-before-after.json (a resume keeps the 'before')
  --eval-data DIR       the benchmarks' data folder (as minivl eval run --data; docs/eval.md)
  --eval-limit N        only the first N items of each benchmark (default: all)
  --eval-max-num N      tiles per image instead of the benchmark's reference setting
  --eval-max-new-tokens N  new-token cap instead of the reference setting
  --recompute           recompute each ViT / decoder layer's activations in the backward (gradient
                        checkpointing): the same gradients, far less memory for long sequences
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
      'train-vision': { type: 'boolean' }, 'drop-path-rate': { type: 'string' }, recompute: { type: 'boolean' },
      'eval-before-after': { type: 'string' }, 'eval-data': { type: 'string' }, 'eval-limit': { type: 'string' },
      'eval-max-num': { type: 'string' }, 'eval-max-new-tokens': { type: 'string' },
      'batch-tokens': { type: 'string' }, 'batch-tiles': { type: 'string' }, 'max-buffers': { type: 'string' },
      'loss-reduction': { type: 'string' }, replay: { type: 'string' }, 'replay-ratio': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (!args) return 0;
  const v = args.values;
  const modelDir = inputDir('--model', required(CMD, '--model', v.model));
  const metaFile = inputFile('--meta', required(CMD, '--meta', v.meta));
  const mode = required(CMD, '--mode', v.mode);
  if (mode !== 'lora' && mode !== 'mlp' && mode !== 'full') fail(`--mode must be lora, mlp or full, got '${mode}'`);
  if (v['train-vision'] && mode !== 'full') fail('--train-vision needs --mode full');
  const dropPathRate = numFlag('--drop-path-rate', v['drop-path-rate']);
  if (dropPathRate !== undefined && !(dropPathRate >= 0 && dropPathRate < 1)) fail(`--drop-path-rate must be in [0, 1), got '${v['drop-path-rate']}'`);
  const outDir = required(CMD, '--out', v.out);
  if (v.resume && v.force) fail('--resume and --force exclude each other');
  const mergedDtype = v['merged-dtype'];
  if (mergedDtype !== undefined && mergedDtype !== 'bf16' && mergedDtype !== 'f32') fail(`--merged-dtype must be bf16 or f32, got '${mergedDtype}'`);
  const threads = intFlag('--threads', v.threads, { min: 1 });
  let evalGuard: EvalGuardOptions | undefined;
  if (v['eval-before-after'] !== undefined) {
    evalGuard = {
      bench: v['eval-before-after'],
      dataDir: inputDir('--eval-data', v['eval-data'] ?? fail('--eval-before-after needs --eval-data DIR (the benchmarks\' data folder, as minivl eval run --data)')),
      limit: intFlag('--eval-limit', v['eval-limit'], { min: 1 }),
      maxNum: intFlag('--eval-max-num', v['eval-max-num'], { min: 1, max: MAX_TILES }),
      maxNewTokens: intFlag('--eval-max-new-tokens', v['eval-max-new-tokens'], { min: 1 }),
      threads,
      log: (m) => process.stderr.write(`${m}\n`),
    };
  } else {
    const stray = ['eval-data', 'eval-limit', 'eval-max-num', 'eval-max-new-tokens'].find((f) => v[f as keyof typeof v] !== undefined);
    if (stray) fail(`--${stray} needs --eval-before-after BENCH`);
  }
  const lossReduction = v['loss-reduction'];
  if (lossReduction !== undefined && lossReduction !== 'token' && lossReduction !== 'sample' && lossReduction !== 'square') fail(`--loss-reduction must be token, sample or square, got '${lossReduction}'`);
  const batchTokens = intFlag('--batch-tokens', v['batch-tokens'], { min: 16 });
  if (!batchTokens && (v['batch-tiles'] !== undefined || v['max-buffers'] !== undefined)) fail(`--${v['batch-tiles'] !== undefined ? 'batch-tiles' : 'max-buffers'} needs --batch-tokens N (packing)`);
  const replayRatio = numFlag('--replay-ratio', v['replay-ratio']);
  if (replayRatio !== undefined && !(replayRatio > 0 && replayRatio < 1)) fail(`--replay-ratio must be in (0, 1), got '${v['replay-ratio']}'`);
  if (replayRatio !== undefined && v.replay === undefined) fail('--replay-ratio needs --replay META');
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
    trainVision: v['train-vision'] ?? false,
    dropPathRate,
    recompute: v.recompute ?? false,
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
    mergedDtype: mergedDtype === undefined ? undefined : mergedDtype === 'f32' ? 'F32' : 'BF16',
    evalGuard,
    batchTokens,
    batchTiles: intFlag('--batch-tiles', v['batch-tiles'], { min: 1 }),
    maxBuffers: intFlag('--max-buffers', v['max-buffers'], { min: 1 }),
    lossReduction,
    replayMeta: v.replay === undefined ? undefined : inputFile('--replay', v.replay),
    replayRatio,
    threads,
    resume: v.resume ?? false,
    force: v.force ?? false,
    warn: (m) => process.stderr.write(`minivl: finetune: ${m}\n`),
    progress: (p) => {
      const eta = Math.round(p.etaS);
      process.stderr.write(`step ${p.step}/${p.totalSteps}  loss ${p.loss.toFixed(4)}  lr ${p.lr.toExponential(2)}  ${p.tokens_per_s.toFixed(0)} tok/s  ETA ${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, '0')}\n`);
    },
  });
  const ba = r.evalBeforeAfter;
  if (ba) for (const line of formatBeforeAfter(ba)) process.stderr.write(`eval before/after: ${line}\n`);
  printJson({
    steps: r.steps, final_loss: r.finalLoss, out: r.outDir, adapter: r.adapterDir, merged: r.mergedDir,
    ...(ba ? { eval_before_after: { before: ba.before.scores, after: ba.after?.scores ?? null, delta: ba.delta } } : {}),
    seconds: (Date.now() - t0) / 1000,
  });
  return 0;
}
