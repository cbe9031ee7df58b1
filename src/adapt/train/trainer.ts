/**
 * `minivl finetune`: the training loop. One record per micro-batch (token-mean loss, as the
 * reference's non-packed 2nd fine-tune), gradients averaged over `gradAccum` micro-batches, global
 * norm clipping, AdamW with warmup + cosine (training.md §6–§8). Modes: `lora` (LLM LoRA, optional
 * ViT LoRA; everything else frozen) and `mlp` (the projector only).
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
import { writeFileAtomic, writeFully } from '../../io/atomic-write.ts';
import { loadTokenizer } from '../../tokenizer/index.ts';
import { IMG_CONTEXT_TOKEN } from '../../prompt/index.ts';
import { loraScaling, type LoraSpec } from '../../model/lora.ts';
import { TrainingSession } from '../../runtime/training.ts';
import { TrainData } from './data.ts';
import { initialParams, loadParams, saveParams, type ParamMap } from './params.ts';
import { AdamW, clipGradNorm } from './optimizer.ts';
import { learningRate, warmupSteps, type Schedule } from './schedule.ts';
import { generator, STREAM } from './rng.ts';
import { lossCurveSvg } from './loss-curve.ts';
import { exportAdapter, exportMerged, writeJsonAtomic } from './export.ts';

export type FinetuneMode = 'lora' | 'mlp';

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
  /** dtype of the changed tensors in merged/ (reference: bf16). */
  mergedDtype?: 'BF16' | 'F32';
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
}

export interface FinetuneResult {
  steps: number;
  finalLoss: number;
  outDir: string;
  adapterDir: string | null;
  mergedDir: string;
}

/** The settings that define a run (a resume must match them). */
interface RunSettings {
  mode: FinetuneMode;
  model: string;
  meta: string;
  lora: LoraSpec | null;
  visionLora: LoraSpec | null;
  lr: number;
  weightDecay: number;
  warmupRatio: number;
  totalSteps: number;
  gradAccum: number;
  maxGradNorm: number;
  seed: number;
  maxLength: number;
  maxDynamicPatch: number;
}

interface TrainerState {
  /** Optimizer steps done. */
  step: number;
  /** Next position in the data stream. */
  position: number;
  adamStep: number;
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

  if (existsSync(out) && !opts.resume && !opts.force) fail(`${opts.outDir}: already exists (use --resume to continue the run or --force to start over)`);
  if (opts.resume && !existsSync(join(out, LATEST))) fail(`${opts.outDir}: no checkpoint to resume from (${LATEST} missing)`);
  if (opts.force && !opts.resume) await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });

  const session = await TrainingSession.create(opts.modelDir, {
    vision: true,
    trainable: opts.mode === 'mlp' ? (name) => name.startsWith('mlp1.') : [],
    llmLora: lora ?? undefined,
    visionLora: visionLora ?? undefined,
    intraOpNumThreads: opts.threads,
  });
  try {
    const cfg = session.config;
    const tokenizer = await loadTokenizer(opts.modelDir);
    const imgContextId = tokenizer.tokenToId(IMG_CONTEXT_TOKEN) ?? fail(`${opts.modelDir}: the tokenizer has no ${IMG_CONTEXT_TOKEN} token`);
    const data = new TrainData(opts.metaFile, { tokenizer, template: cfg.template, maxLength: opts.maxLength ?? 4096, maxDynamicPatch: opts.maxDynamicPatch ?? 6, seed, warn: opts.warn });
    const totalSteps = opts.maxSteps ?? Math.floor((data.size * (opts.epochs ?? 1)) / gradAccum);
    if (!(totalSteps >= 1)) fail(`${opts.metaFile}: ${data.size} record(s) give no optimizer step with --grad-accum ${gradAccum}`);
    const settings: RunSettings = {
      mode: opts.mode, model: resolve(opts.modelDir), meta: resolve(opts.metaFile), lora, visionLora,
      lr: opts.lr ?? 4e-5, weightDecay: opts.weightDecay ?? 0.01, warmupRatio: opts.warmupRatio ?? 0.03,
      totalSteps, gradAccum, maxGradNorm: opts.maxGradNorm ?? 1.0, seed,
      maxLength: opts.maxLength ?? 4096, maxDynamicPatch: opts.maxDynamicPatch ?? 6,
    };
    const schedule: Schedule = { lr: settings.lr, totalSteps, warmupSteps: warmupSteps(totalSteps, settings.warmupRatio) };
    const shapes = new Map(session.graph.params.map((p) => [p.name, p.shape]));
    const opt = new AdamW({ weightDecay: settings.weightDecay });

    let params: ParamMap;
    let state: TrainerState;
    let log: StepReport[] = [];
    if (opts.resume) {
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

    const t0 = Date.now();
    const startStep = state.step;
    for (let k = state.step; k < totalSteps; k++) {
      const stepStart = Date.now();
      const lr = learningRate(k, schedule);
      const acc = new Map(session.graph.params.map((p) => [p.name, new Float32Array(params.get(p.name)!.length)]));
      let loss = 0;
      let tokens = 0;
      for (let micro = 0; micro < gradAccum; micro++) {
        const { sample, consumed } = await data.sample(state.position);
        state.position += consumed;
        const masks = dropoutMasks(session, sample.inputIds.length, sample.numTiles, dropout, seed, k * gradAccum + micro);
        const r = await session.step({
          inputIds: sample.inputIds, labels: sample.labels, pixelValues: sample.pixelValues, imageFlags: sample.imageFlags, imgContextId, masks,
        }, params);
        for (const [name, g] of r.grads) {
          const a = acc.get(name)!;
          for (let i = 0; i < a.length; i++) a[i] = a[i]! + g[i]! / gradAccum;
        }
        loss += r.loss / gradAccum;
        tokens += sample.inputIds.length;
      }
      const gradNorm = clipGradNorm(acc.values(), settings.maxGradNorm);
      opt.step(params, acc, lr);
      state.step = k + 1;
      state.adamStep = opt.state.step;
      const dt = (Date.now() - stepStart) / 1000;
      const report: StepReport = { step: k + 1, loss, lr, grad_norm: gradNorm, tokens, tokens_per_s: tokens / dt, elapsed_s: (Date.now() - t0) / 1000 };
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
      dtype: opts.mergedDtype ?? 'BF16',
      scaling: (module) => loraScaling(module.startsWith('vision_model.') ? visionLora! : lora!),
    });
    return { steps: totalSteps, finalLoss: log.at(-1)?.loss ?? NaN, outDir: out, adapterDir, mergedDir };
  } finally {
    await session.release();
  }
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
  await writeFileAtomic(join(out, 'loss.svg'), (fh) => writeFully(fh, new TextEncoder().encode(lossCurveSvg(log))));
}

async function writeLog(out: string, log: StepReport[]): Promise<void> {
  await writeFileAtomic(join(out, LOG), (fh) => writeFully(fh, new TextEncoder().encode(log.map((r) => `${JSON.stringify(r)}\n`).join(''))));
}

async function appendLog(out: string, r: StepReport): Promise<void> {
  await appendFile(join(out, LOG), `${JSON.stringify(r)}\n`);
}
