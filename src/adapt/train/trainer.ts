/**
 * `minivl finetune`: the training loop. One record per micro-batch (token-mean loss, as the
 * reference's non-packed 2nd fine-tune) or, with `batchTokens`, one pack (§5.2/§7.2 weighting) and an
 * optional replay mix (stream.ts), gradients averaged over `gradAccum` micro-batches, global
 * norm clipping, AdamW with warmup + cosine (training.md §6–§8). Modes: `lora` (LLM LoRA, optional
 * ViT LoRA; everything else frozen), `mlp` (the projector only) and `full` (LLM + projector, the ViT
 * too with trainVision; full.ts), with InternViT drop path (drop-path.ts).
 *
 * The run folder (`out`): run.json (the settings that define the run), log.jsonl (one line per
 * step), loss.svg, checkpoint-<step>/ (trainable tensors, optimizer moments, position in the data
 * stream; the latest is named by latest.json), and at the end adapter/ (LoRA, PEFT layout) and
 * merged/ (a full checkpoint). Every random draw is a function of (seed, step), so `resume` after a
 * crash or SIGKILL continues exactly where the last checkpoint left off.
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fail } from '../../errors.ts';
import { SafetensorsFile, writeSafetensors } from '../../io/safetensors.ts';
import { writeJsonAtomic, writeTextAtomic } from '../../io/atomic-write.ts';
import { loadTokenizer } from '../../tokenizer/index.ts';
import { loadModelConfig } from '../../model/config.ts';
import { IMG_CONTEXT_TOKEN } from '../../prompt/index.ts';
import { loraScaling, type LoraSpec } from '../../model/lora.ts';
import { TrainingSession } from '../../runtime/training.ts';
import { TrainData } from './data.ts';
import { initialParams, loadParams, saveParams, type ParamMap } from './params.ts';
import { AdamW, clipGradNorm } from './optimizer.ts';
import { learningRate, warmupSteps, type Schedule } from './schedule.ts';
import { generator, STREAM } from './rng.ts';
import { lossCurveSvg } from './loss-curve.ts';
import { exportAdapter, exportMerged } from './export.ts';
import { DEFAULT_DROP_PATH_RATE, modeTrainable } from './full.ts';
import { dropPathMasks } from './drop-path.ts';
import { openTrainStream, type StreamState } from './stream.ts';
import { DEFAULT_REPLAY_RATIO } from './replay.ts';
import type { LossReduction } from './loss-weights.ts';
import type { PackingOptions } from './packed-data.ts';
import { evalGuardStarted, openEvalGuard, type BeforeAfterReport, type EvalGuardOptions } from './eval-guard.ts';

export type FinetuneMode = 'lora' | 'mlp' | 'full';

export interface FinetuneOptions {
  modelDir: string;
  metaFile: string;
  outDir: string;
  mode: FinetuneMode;
  /** LLM LoRA rank (reference scripts 16), alpha (2r) and dropout (0.05). */
  loraRank?: number;
  loraAlpha?: number;
  loraDropout?: number;
  /** ViT LoRA rank (0 = off, as in the released scripts). */
  visionLoraRank?: number;
  /** Full mode: also train InternViT (the domain-adaptation setting); default frozen (the 2nd fine-tune "full"). */
  trainVision?: boolean;
  /** InternViT drop path rate (training.md §8.1), active even in a frozen ViT; default per mode (full.ts). */
  dropPathRate?: number;
  /** Recompute layer activations in the backward (less memory, same gradients; not a run setting). */
  recompute?: boolean;
  lr?: number;
  weightDecay?: number;
  warmupRatio?: number;
  /** Optimizer steps; default ⌊records · epochs / gradAccum⌋. */
  maxSteps?: number;
  epochs?: number;
  gradAccum?: number;
  maxGradNorm?: number;
  saveSteps?: number;
  seed?: number;
  maxLength?: number;
  maxDynamicPatch?: number;
  /** dtype of the changed tensors in merged/; default: each one's dtype in the source checkpoint (bf16 for released ones, as the reference saves). */
  mergedDtype?: 'BF16' | 'F32';
  /** Forgetting guard (--eval-before-after): a small benchmark scored before training and on merged/ after it. */
  evalGuard?: EvalGuardOptions;
  /** Packing (training.md §5.2) on when given: `max_packed_tokens` (scripts 16384). */
  batchTokens?: number;
  /** `num_images_expected` (default 48) and `max_buffer_size` (20) of the packer. */
  batchTiles?: number;
  maxBuffers?: number;
  /** Packed loss weighting (§7.2; default square, as all domain scripts). Needs packing. */
  lossReduction?: LossReduction;
  /** Forgetting guard: a meta file of general data mixed in at `replayRatio` (default 0.2) of the samples. */
  replayMeta?: string;
  replayRatio?: number;
  resume?: boolean;
  force?: boolean;
  threads?: number;
  progress?: (p: StepReport & { totalSteps: number; etaS: number }) => void;
  warn?: (msg: string) => void;
}

export interface StepReport {
  step: number;
  loss: number;
  lr: number;
  grad_norm: number;
  tokens: number;
  tokens_per_s: number;
  elapsed_s: number;
  /** Samples trained on in the step, and how many of them came from the --replay data (when on). */
  samples?: number;
  replay_samples?: number;
}

export interface FinetuneResult {
  steps: number;
  finalLoss: number;
  outDir: string;
  adapterDir: string | null;
  mergedDir: string;
  /** With `evalGuard`: the scores before and after, and their difference (also OUT/eval-before-after.json). */
  evalBeforeAfter?: BeforeAfterReport;
}

/** The settings that define a run (a resume must match them). */
interface RunSettings {
  mode: FinetuneMode;
  model: string;
  meta: string;
  lora: LoraSpec | null;
  visionLora: LoraSpec | null;
  trainVision: boolean;
  dropPathRate: number;
  lr: number;
  weightDecay: number;
  warmupRatio: number;
  totalSteps: number;
  gradAccum: number;
  maxGradNorm: number;
  seed: number;
  maxLength: number;
  maxDynamicPatch: number;
  packing: Omit<PackingOptions, 'warn'> | null;
  replay: { meta: string; ratio: number } | null;
}

interface TrainerState {
  /** Optimizer steps done. */
  step: number;
  /** Next position in the data stream. */
  position: number;
  adamStep: number;
  /** With packing or replay: the packer's held samples and the mixed stream's read positions. */
  stream?: StreamState;
}

const LATEST = 'latest.json';
const LOG = 'log.jsonl';

export async function finetune(opts: FinetuneOptions): Promise<FinetuneResult> {
  const out = resolve(opts.outDir);
  const seed = opts.seed ?? 42;
  const gradAccum = opts.gradAccum ?? 1;
  const dropout = opts.loraDropout ?? 0.05;
  const lora: LoraSpec | null = opts.mode === 'lora' ? { rank: opts.loraRank ?? 16, alpha: opts.loraAlpha ?? 2 * (opts.loraRank ?? 16), dropout } : null;
  const visionLora: LoraSpec | null = opts.mode === 'lora' && opts.visionLoraRank ? { rank: opts.visionLoraRank, alpha: 2 * opts.visionLoraRank, dropout } : null;
  if (opts.trainVision && opts.mode !== 'full') fail('--train-vision needs --mode full');
  const trainVision = opts.mode === 'full' && (opts.trainVision ?? false);
  const dropPathRate = opts.dropPathRate ?? DEFAULT_DROP_PATH_RATE[opts.mode];
  if (!(dropPathRate >= 0 && dropPathRate < 1)) fail(`--drop-path-rate must be in [0, 1), got ${dropPathRate}`);

  if (opts.lossReduction && !opts.batchTokens) fail('--loss-reduction weights the samples of a pack: it needs --batch-tokens (without packing the loss is the token mean)');
  if (opts.batchTokens && opts.maxSteps === undefined) fail('--batch-tokens needs --max-steps (the number of packs a pass gives is not known in advance)');
  if (existsSync(out) && !opts.resume && !opts.force) fail(`${opts.outDir}: already exists (use --resume to continue the run or --force to start over)`);
  // Stopped before its first checkpoint, during or after the guard's "before": a resume starts at step 0 and keeps those scores.
  const restart = (opts.resume ?? false) && !existsSync(join(out, LATEST)) && evalGuardStarted(out);
  if (opts.resume && !restart && !existsSync(join(out, LATEST))) fail(`${opts.outDir}: no checkpoint to resume from (${LATEST} missing)`);
  // The data is opened before anything is written: a bad meta file fails with the run folder untouched.
  const cfg = await loadModelConfig(opts.modelDir);
  const tokenizer = await loadTokenizer(opts.modelDir);
  const imgContextId = tokenizer.tokenToId(IMG_CONTEXT_TOKEN) ?? fail(`${opts.modelDir}: the tokenizer has no ${IMG_CONTEXT_TOKEN} token`);
  const dataOptions = { tokenizer, template: cfg.template, maxLength: opts.maxLength ?? 4096, maxDynamicPatch: opts.maxDynamicPatch ?? 6, seed, warn: opts.warn };
  const data = new TrainData(opts.metaFile, dataOptions);
  const replay = opts.replayMeta ? { meta: resolve(opts.replayMeta), ratio: opts.replayRatio ?? DEFAULT_REPLAY_RATIO } : null;
  const replayData = replay ? new TrainData(replay.meta, dataOptions) : null;
  const totalSteps = opts.maxSteps ?? Math.floor((data.size * (opts.epochs ?? 1)) / gradAccum);
  if (!(totalSteps >= 1)) fail(`${opts.metaFile}: ${data.size} record(s) give no optimizer step with --grad-accum ${gradAccum}`);
  const guard = openEvalGuard(out, opts.evalGuard, opts.resume ?? false);
  if (opts.force && !opts.resume) await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  // Scored before the training session exists: the two models are never in memory together.
  await guard?.before(opts.modelDir);

  let trained: FinetuneResult;
  const session = await TrainingSession.create(opts.modelDir, {
    vision: true,
    trainable: modeTrainable(opts.mode, trainVision),
    trainEmbedding: opts.mode === 'full',
    dropPathRate,
    llmLora: lora ?? undefined,
    visionLora: visionLora ?? undefined,
    intraOpNumThreads: opts.threads,
    recompute: opts.recompute,
  });
  try {
    const packing = opts.batchTokens
      ? { maxTokens: opts.batchTokens, maxTiles: opts.batchTiles ?? 48, maxBuffers: opts.maxBuffers ?? 20, lossReduction: opts.lossReduction ?? 'square' as const }
      : null;
    const settings: RunSettings = {
      mode: opts.mode, model: resolve(opts.modelDir), meta: resolve(opts.metaFile), lora, visionLora, trainVision, dropPathRate,
      lr: opts.lr ?? 4e-5, weightDecay: opts.weightDecay ?? 0.01, warmupRatio: opts.warmupRatio ?? 0.03,
      totalSteps, gradAccum, maxGradNorm: opts.maxGradNorm ?? 1.0, seed,
      maxLength: opts.maxLength ?? 4096, maxDynamicPatch: opts.maxDynamicPatch ?? 6,
      packing, replay,
    };
    const schedule: Schedule = { lr: settings.lr, totalSteps, warmupSteps: warmupSteps(totalSteps, settings.warmupRatio) };
    const shapes = new Map(session.graph.params.map((p) => [p.name, p.shape]));
    const opt = new AdamW({ weightDecay: settings.weightDecay });

    let params: ParamMap;
    let state: TrainerState;
    let log: StepReport[] = [];
    if (opts.resume && !restart) {
      const saved = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as RunSettings;
      if (JSON.stringify(saved) !== JSON.stringify(settings)) fail(`${opts.outDir}: the run was started with other settings (see run.json); resume with the same flags`);
      const latest = JSON.parse(await readFile(join(out, LATEST), 'utf8')) as { dir: string };
      const ck = join(out, latest.dir);
      state = JSON.parse(await readFile(join(ck, 'state.json'), 'utf8')) as TrainerState;
      params = await loadParams(join(ck, 'params.safetensors'), session.graph.params);
      const moments = await SafetensorsFile.open(join(ck, 'optimizer.safetensors'));
      opt.state = { step: state.adamStep, m: new Map(), v: new Map() };
      for (const p of session.graph.params) {
        opt.state.m.set(p.name, await moments.readFloat32(`m.${p.name}`));
        opt.state.v.set(p.name, await moments.readFloat32(`v.${p.name}`));
      }
      // Steps logged after the checkpoint are redone.
      log = (await readFile(join(out, LOG), 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as StepReport).filter((r) => r.step <= state.step);
      await writeLog(out, log);
    } else {
      await writeJsonAtomic(join(out, 'run.json'), settings);
      params = await initialParams(session.graph.params, session.checkpoint, seed);
      state = { step: 0, position: 0, adamStep: 0 };
      await writeLog(out, log);
    }

    const stream = await openTrainStream({
      data, seed, position: state.position, saved: state.stream,
      replay: replay && replayData ? { data: replayData, ratio: replay.ratio } : null,
      packing: packing ? { ...packing, warn: opts.warn } : null,
    });
    const t0 = Date.now();
    const startStep = state.step;
    for (let k = state.step; k < totalSteps; k++) {
      const stepStart = Date.now();
      const lr = learningRate(k, schedule);
      // The micro-batches' sum, kept in the first one's gradient buffers (0 + g/n rounds as g/n does, so
      // this equals a zero-initialised sum; full mode has no room for another copy of the model).
      let acc: Map<string, Float32Array> | undefined;
      let loss = 0;
      let tokens = 0;
      let samples = 0;
      let replaySamples = 0;
      const { micro: batches, divisor } = await stream.next(gradAccum);
      for (let micro = 0; micro < gradAccum; micro++) {
        const sample = batches[micro]!;
        const masks = dropoutMasks(session, sample.inputIds.length, sample.numTiles, dropout, seed, k * gradAccum + micro);
        for (const [name, m] of dropPathMasks(session.graph.dropPath, sample.numTiles, seed, k * gradAccum + micro)) masks.set(name, m);
        const r = await session.step({
          inputIds: sample.inputIds, labels: sample.labels, pixelValues: sample.pixelValues, imageFlags: sample.imageFlags, imgContextId, masks,
          cuSeqlens: sample.cuSeqlens, lossWeights: sample.lossWeights, denominator: sample.denominator,
        }, params);
        if (!acc) {
          acc = r.grads;
          if (divisor !== 1) for (const g of acc.values()) for (let i = 0; i < g.length; i++) g[i] = 0 + g[i]! / divisor;
        } else {
          for (const [name, g] of r.grads) {
            const a = acc.get(name)!;
            for (let i = 0; i < a.length; i++) a[i] = a[i]! + g[i]! / divisor;
          }
        }
        loss += r.loss / divisor;
        tokens += sample.inputIds.length;
        samples += sample.samples;
        replaySamples += sample.replaySamples;
      }
      state.position = stream.position();
      state.stream = stream.state();
      const gradNorm = clipGradNorm(acc!.values(), settings.maxGradNorm);
      opt.step(params, acc!, lr);
      state.step = k + 1;
      state.adamStep = opt.state.step;
      const dt = (Date.now() - stepStart) / 1000;
      const report: StepReport = {
        step: k + 1, loss, lr, grad_norm: gradNorm, tokens, tokens_per_s: tokens / dt, elapsed_s: (Date.now() - t0) / 1000,
        samples, ...(replay ? { replay_samples: replaySamples } : {}),
      };
      log.push(report);
      await appendLog(out, report);
      const done = k + 1 - startStep;
      opts.progress?.({ ...report, totalSteps, etaS: ((Date.now() - t0) / 1000 / done) * (totalSteps - k - 1) });
      if ((k + 1) % (opts.saveSteps ?? 200) === 0 || k + 1 === totalSteps) await saveCheckpoint(out, params, shapes, opt, state, log);
    }

    const adapterDir = lora ? join(out, 'adapter') : null;
    if (adapterDir) await exportAdapter(adapterDir, params, session.graph.loraModules, lora!, settings.model, visionLora);
    const mergedDir = join(out, 'merged');
    await exportMerged(mergedDir, session.checkpoint, params, {
      dtype: opts.mergedDtype,
      scaling: (module) => loraScaling(module.startsWith('vision_model.') ? visionLora! : lora!),
    });
    trained = { steps: totalSteps, finalLoss: log.at(-1)?.loss ?? NaN, outDir: out, adapterDir, mergedDir };
  } finally {
    await session.release();
  }
  return guard ? { ...trained, evalBeforeAfter: await guard.after(trained.mergedDir) } : trained;
}

/** Inverted-dropout masks (0 or 1/(1−p)) for every LoRA branch input, drawn from (seed, micro-batch, module). */
function dropoutMasks(session: TrainingSession, L: number, tiles: number, p: number, seed: number, micro: number): Map<string, Float32Array> {
  const masks = new Map<string, Float32Array>();
  const cfg = session.config;
  const vitTokens = (cfg.imageSize / cfg.vision.patchSize) ** 2 + 1;
  session.graph.masks.forEach((m, j) => {
    const rows = m.scope === 'language_model' ? L : tiles * vitTokens;
    const next = generator(seed, STREAM.dropout + 16 * j, micro);
    const keep = 1 / (1 - p);
    masks.set(m.name, Float32Array.from({ length: rows * m.features }, () => (next() < p ? 0 : keep)));
  });
  return masks;
}

async function saveCheckpoint(out: string, params: ParamMap, shapes: Map<string, number[]>, opt: AdamW, state: TrainerState, log: StepReport[]): Promise<void> {
  const name = `checkpoint-${state.step}`;
  const dir = join(out, name);
  await mkdir(dir, { recursive: true });
  await saveParams(join(dir, 'params.safetensors'), params, shapes);
  const moments = [...opt.state.m].flatMap(([n, m]) => [
    { name: `m.${n}`, dtype: 'F32' as const, shape: shapes.get(n)!, data: m },
    { name: `v.${n}`, dtype: 'F32' as const, shape: shapes.get(n)!, data: opt.state.v.get(n)! },
  ]);
  await writeSafetensors(join(dir, 'optimizer.safetensors'), moments);
  await writeJsonAtomic(join(dir, 'state.json'), state);
  const previous = await readFile(join(out, LATEST), 'utf8').then((t) => (JSON.parse(t) as { dir: string }).dir).catch(() => null);
  await writeJsonAtomic(join(out, LATEST), { dir: name, step: state.step });
  if (previous && previous !== name) await rm(join(out, previous), { recursive: true, force: true });
  await writeTextAtomic(join(out, 'loss.svg'), lossCurveSvg(log));
}

async function writeLog(out: string, log: StepReport[]): Promise<void> {
  await writeTextAtomic(join(out, LOG), log.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

async function appendLog(out: string, r: StepReport): Promise<void> {
  await appendFile(join(out, LOG), `${JSON.stringify(r)}\n`);
}
