/**
 * `minivl parity --lora-golden`: the training graph (LoRA on the family's targets + the projector
 * trained) against the reference's loss and gradients in `lora_golden.safetensors` (golden/README.md:
 * loss within 1e-4, every gradient within 1e-3 relative L2).
 */
import { SafetensorsFile } from '../io/safetensors.ts';
import { fail } from '../errors.ts';
import { moduleOfPeftName } from '../model/lora.ts';
import { readMeta } from './parity.ts';
import { relL2 } from './metrics.ts';
import { TrainingSession } from './training.ts';

export const LORA_TOLERANCES = { lora_loss_abs_err: 1e-4, lora_grad_max_rel_l2: 1e-3 } as const;

export interface LoraParityReport {
  lora_loss_abs_err: number;
  lora_grad_max_rel_l2: number;
  lora_loss: number;
  lora_golden_loss: number;
  /** Per trained tensor: gradient relative L2 error. */
  lora_grad_rel_l2: Record<string, number>;
  failed: string[];
}

export interface LoraParityArgs {
  modelDir: string;
  loraGoldenFile: string;
  /** The golden's model input; the first tiles that fill the sequence's `<IMG_CONTEXT>` rows are used. */
  pixelValuesFile: string;
}

export async function runLoraParity(args: LoraParityArgs): Promise<LoraParityReport> {
  const meta = await readMeta(args.loraGoldenFile);
  const gold = await SafetensorsFile.open(args.loraGoldenFile);
  for (const n of ['input_ids', 'labels', 'loss']) if (!gold.has(n)) fail(`${gold.label}: no tensor '${n}' (not a LoRA golden?)`);
  const params = new Map<string, Float32Array>();
  for (const n of gold.names()) if (n.startsWith('param.')) params.set(n.slice('param.'.length), await gold.readFloat32(n));
  const loraA = [...params.keys()].filter((n) => moduleOfPeftName(n)?.part === 'A');
  if (loraA.length === 0) fail(`${gold.label}: no LoRA parameters (param.*.lora_A.default.weight)`);
  const rank = gold.info(`param.${loraA[0]}`).shape[0]!;
  const trainable = [...params.keys()].filter((n) => !moduleOfPeftName(n));

  const ids = await gold.readIntegers('input_ids');
  const labels = await gold.readIntegers('labels');
  const imageRows = ids.filter((t) => t === meta.img_context_id).length;
  // Reference LoRA scripts: alpha = 2r (the golden's rank 4, alpha 8).
  // The family's official target modules: the golden's LoRA tensors must be exactly the graph's.
  const ts = await TrainingSession.create(args.modelDir, { vision: imageRows > 0, trainable, llmLora: { rank, alpha: 2 * rank } });
  try {
    if (meta.family !== undefined && ts.config.llm.family !== meta.family) fail(`${meta.path}: the golden is for a ${meta.family} model, --model ${args.modelDir} is ${ts.config.llm.family}`);
    const ours = new Set(ts.graph.params.map((p) => p.name));
    const missing = [...params.keys()].filter((n) => !ours.has(n));
    const extra = [...ours].filter((n) => !params.has(n));
    if (missing.length || extra.length) fail(`${gold.label}: trained tensors differ from the training graph's (golden only: ${missing.slice(0, 3).join(', ') || '-'}; graph only: ${extra.slice(0, 3).join(', ') || '-'})`);
    let pixelValues: Float32Array | undefined;
    if (imageRows > 0) {
      const cfg = ts.config;
      const perTile = (cfg.imageSize / cfg.vision.patchSize) ** 2 * cfg.downsampleRatio ** 2;
      const tiles = imageRows / perTile;
      const pv = await (await SafetensorsFile.open(args.pixelValuesFile)).readFloat32('pixel_values');
      const per = cfg.vision.numChannels * cfg.imageSize * cfg.imageSize;
      if (!Number.isInteger(tiles) || pv.length < tiles * per) fail(`${args.pixelValuesFile}: the LoRA golden needs ${tiles} tile(s) of pixel_values`);
      pixelValues = pv.subarray(0, tiles * per);
    }
    const r = await ts.step({ inputIds: ids, labels, pixelValues, imgContextId: meta.img_context_id }, params);
    const goldLoss = (await gold.readFloat32('loss'))[0]!;
    const perTensor: Record<string, number> = {};
    for (const [name, g] of r.grads) {
      const ref = `grad.${name}`;
      if (!gold.has(ref)) fail(`${gold.label}: no tensor '${ref}'`);
      perTensor[name] = relL2(g, await gold.readFloat32(ref));
    }
    const report = {
      lora_loss_abs_err: Math.abs(r.loss - goldLoss),
      lora_grad_max_rel_l2: Math.max(...Object.values(perTensor)),
      lora_loss: r.loss,
      lora_golden_loss: goldLoss,
      lora_grad_rel_l2: perTensor,
    };
    const failed = Object.entries(LORA_TOLERANCES).filter(([k, tol]) => !(report[k as keyof typeof LORA_TOLERANCES] < tol)).map(([k]) => k);
    return { ...report, failed };
  } finally {
    await ts.release();
  }
}

/** The parity report with the LoRA fields added (its `failed`/`ok` cover both). */
export function withLoraParity<R extends { failed: string[]; ok: boolean }>(report: R, lora: LoraParityReport): R & Omit<LoraParityReport, 'failed'> {
  const { failed, ...fields } = lora;
  const all = [...report.failed, ...failed];
  return { ...report, ...fields, failed: all, ok: all.length === 0 };
}
