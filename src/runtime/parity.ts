/**
 * `minivl parity`: runs this project's float32 forward on a golden file's inputs and compares every
 * stage with the reference (golden/README.md lists the tensors and the tolerances).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SafetensorsFile } from '../io/safetensors.ts';
import { concatFloat32 } from '../io/dtype.ts';
import { fail } from '../errors.ts';
import { Model } from './model.ts';
import { relL2, argmax, argmaxAgreement, causalLmLoss } from './metrics.ts';
import type { Precision } from './precision.ts';
import { compareWithFp32, FLOAT16_COMPUTE_TARGET, type QuantParity } from './parity-quant.ts';
import type { Device, DeviceRequest } from '../host/types.ts';

/** golden/README.md tolerances for a float32 implementation. */
export const TOLERANCES = {
  vit_embeds_rel_l2: 1e-4,
  logits_rel_l2: 1e-4,
  text_logits_rel_l2: 1e-4,
  loss_abs_err: 1e-4,
} as const;

export interface ParityReport {
  vit_embeds_rel_l2: number;
  logits_rel_l2: number;
  text_logits_rel_l2: number;
  argmax_agreement: number;
  greedy_match: boolean;
  loss_abs_err: number;
  vision_last_hidden_state_rel_l2: number;
  last_hidden_per_layer_rel_l2: number[];
  argmax_rows: number;
  greedy_tokens: number[];
  golden_greedy_tokens: number[];
  loss: number;
  golden_loss: number;
  /** Weight precision of the path compared (fp32 unless --dtype). */
  dtype: Precision;
  /** The device the path ran on (a WebGPU request without an adapter runs on the CPU). */
  device: Device;
  /** Whether the kernels computed in float16 (fp16 on WebGPU with float16 kernels; its own tolerance: FLOAT16_COMPUTE_TARGET). */
  float16_compute: boolean;
  /** For dtype ≠ fp32: the same inputs through this precision vs this project's fp32 forward. */
  vs_fp32?: QuantParity;
  /** Names of the checks that missed their tolerance (empty = pass). */
  failed: string[];
  ok: boolean;
}

export interface ParityArgs {
  modelDir: string;
  goldenFile: string;
  pixelValuesFile: string;
  /** Reuse a loaded model (must be loaded with debugOutputs). */
  model?: Model;
  /**
   * Weight precision (default fp32). Other precisions report the golden fields for that path and add
   * `vs_fp32`; the golden tolerances (written for float32) are replaced by the precision's targets.
   */
  dtype?: Precision;
  /** Converted-weight cache folder for dtype ≠ fp32. */
  weightCacheRoot?: string;
  /** Execution device (default cpu); the golden tolerances are the same on every device. */
  device?: DeviceRequest;
  /** Warnings of the load (a device fallback). */
  warn?: (msg: string) => void;
}

interface Meta { path: string; img_context_id: number; family?: string }

/** The golden's meta.json (special ids, family); also read by lora-parity.ts. */
export async function readMeta(goldenFile: string): Promise<Meta> {
  const path = join(dirname(goldenFile), 'meta.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    fail(`${path}: cannot read the golden's meta.json (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const id = (json as Record<string, unknown>)?.img_context_id;
  if (!Number.isSafeInteger(id)) fail(`${path}: "img_context_id" must be an integer`);
  const family = (json as Record<string, unknown>)?.family;
  return { path, img_context_id: id as number, family: typeof family === 'string' ? family : undefined };
}

function need(f: SafetensorsFile, name: string, shape?: (s: number[]) => boolean): number[] {
  if (!f.has(name)) fail(`${f.label}: no tensor '${name}'`);
  const s = f.info(name).shape;
  if (shape && !shape(s)) fail(`${f.label}: tensor '${name}' has unexpected shape [${s.join(', ')}]`);
  return s;
}

export async function runParity(args: ParityArgs): Promise<ParityReport> {
  const meta = await readMeta(args.goldenFile);
  const gold = await SafetensorsFile.open(args.goldenFile);
  const pvFile = await SafetensorsFile.open(args.pixelValuesFile);
  const dtype = args.model?.precision ?? args.dtype ?? 'fp32';
  const model = args.model ?? (await Model.load(args.modelDir, { debugOutputs: true, dtype, weightCacheRoot: args.weightCacheRoot, device: args.device, warn: args.warn }));
  if (!model.debugOutputs) fail('runParity needs a model loaded with debugOutputs');
  const cfg = model.config;
  // A golden of another LLM family can only fail every metric: say so in one line instead.
  if (meta.family !== undefined && meta.family !== cfg.llm.family) {
    if (!args.model) await model.release();
    fail(`${meta.path}: the golden is for a ${meta.family} model, --model ${args.modelDir} is ${cfg.llm.family}`);
  }
  const V = cfg.llm.vocabSize;
  const H = cfg.llm.hiddenSize;
  try {
    // Vision.
    const S = cfg.imageSize;
    const C = cfg.vision.numChannels;
    const pvShape = need(pvFile, 'pixel_values');
    if (pvShape.length !== 4 || pvShape[1] !== C || pvShape[2] !== S || pvShape[3] !== S || pvShape[0]! < 1) {
      fail(`${pvFile.label}: pixel_values has shape [${pvShape.join(', ')}], expected [tiles, ${C}, ${S}, ${S}]`);
    }
    const T = pvShape[0]!;
    need(gold, 'vit_embeds', (s) => s.length === 3 && s[0] === T && s[2] === H);
    const enc = await model.encodeImages(await pvFile.readFloat32('pixel_values'), T);
    const vit = relL2(enc.vitEmbeds, await gold.readFloat32('vit_embeds'));
    const vlh = gold.has('vision_last_hidden_state') ? relL2(enc.visionHiddenState!, await gold.readFloat32('vision_last_hidden_state')) : NaN;

    // Multimodal forward: logits at every position.
    const ids = await gold.readIntegers('input_ids');
    const L = ids.length;
    need(gold, 'logits', (s) => s.length === 2 && s[0] === L && s[1] === V);
    const embeds = await model.embedWithImages(ids, enc.vitEmbeds, meta.img_context_id);
    const all = ids.map((_, i) => i);
    const fwd = await model.forward({ embeds, logitsPositions: all });
    const goldLogits = await gold.readFloat32('logits');
    const logitsErr = relL2(fwd.logits, goldLogits);
    const am = argmaxAgreement(fwd.logits, goldLogits, V);

    // Per-layer hidden state of the last position.
    const lhp: number[] = [];
    if (gold.has('last_hidden_per_layer')) {
      const ref = await gold.readFloat32('last_hidden_per_layer');
      const n = ref.length / H;
      const hs = fwd.hiddenStates!;
      for (let l = 0; l < n; l++) {
        const ours = hs.subarray((l * L + L - 1) * H, (l * L + L) * H);
        lhp.push(relL2(ours, ref.subarray(l * H, (l + 1) * H)));
      }
    }

    // Loss over the labelled positions.
    const labels = await gold.readIntegers('loss_labels');
    const loss = causalLmLoss(fwd.logits, labels, V);
    const goldLoss = (await gold.readFloat32('loss'))[0]!;

    // Greedy continuation, recomputed without a cache each step like the golden.
    const goldGreedy = await gold.readIntegers('greedy_tokens');
    const greedy: number[] = [];
    let seqEmbeds = embeds;
    let next = argmax(fwd.logits, (L - 1) * V, L * V);
    for (let step = 0; step < goldGreedy.length; step++) {
      greedy.push(next);
      if (step === goldGreedy.length - 1) break;
      const e = await model.embed([next]);
      seqEmbeds = concatFloat32([seqEmbeds, e]);
      const n = seqEmbeds.length / H;
      const r = await model.forward({ embeds: seqEmbeds, logitsPositions: [n - 1] });
      next = argmax(r.logits);
    }

    // Text-only forward.
    const tids = await gold.readIntegers('text_input_ids');
    const tr = await model.forward({ embeds: await model.embed(tids), logitsPositions: tids.map((_, i) => i) });
    const textErr = relL2(tr.logits, await gold.readFloat32('text_logits'));

    const device = model.device;
    const float16_compute = model.float16Compute;
    const report: Omit<ParityReport, 'failed' | 'ok' | 'dtype' | 'device' | 'float16_compute' | 'vs_fp32'> = {
      vit_embeds_rel_l2: vit,
      logits_rel_l2: logitsErr,
      text_logits_rel_l2: textErr,
      argmax_agreement: am.agreement,
      greedy_match: greedy.length === goldGreedy.length && greedy.every((t, i) => t === goldGreedy[i]),
      loss_abs_err: Math.abs(loss - goldLoss),
      vision_last_hidden_state_rel_l2: vlh,
      last_hidden_per_layer_rel_l2: lhp,
      argmax_rows: am.rows,
      greedy_tokens: greedy,
      golden_greedy_tokens: goldGreedy,
      loss,
      golden_loss: goldLoss,
    };
    if (dtype !== 'fp32') {
      const vs = await compareWithFp32(args.modelDir, {
        vitEmbeds: enc.vitEmbeds, logits: fwd.logits, textLogits: tr.logits, greedy,
        pixelValues: await pvFile.readFloat32('pixel_values'), tiles: T, ids, textIds: tids, imgContextId: meta.img_context_id,
      }, dtype, float16_compute ? FLOAT16_COMPUTE_TARGET : undefined);
      return { ...report, dtype, device, float16_compute, vs_fp32: vs, failed: vs.failed, ok: vs.failed.length === 0 };
    }
    const failed: string[] = [];
    for (const [k, tol] of Object.entries(TOLERANCES)) {
      const v = report[k as keyof typeof TOLERANCES];
      if (!(v < tol)) failed.push(k);
    }
    if (report.argmax_agreement !== 1) failed.push('argmax_agreement');
    if (!report.greedy_match) failed.push('greedy_match');
    return { ...report, dtype, device, float16_compute, failed, ok: failed.length === 0 };
  } finally {
    if (!args.model) await model.release();
  }
}
