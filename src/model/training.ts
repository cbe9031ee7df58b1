/**
 * The training graph: the inference graphs of vision.ts and decoder.ts (the same layer code, built
 * by the same builders) inlined into one graph, with
 *   - trainable checkpoint tensors (e.g. the projector `mlp1.*`) turned into float32 inputs,
 *   - LoRA branches on the target modules (lora.ts),
 *   - the image rows merged into the token embeddings inside the graph (so gradients reach mlp1),
 *   - the whole sequence in one call with no KV cache (the decoder's past is a single masked row),
 *   - the loss: Σ_k w_k · CE(logits at position p_k, target_k), the weights normalised outside
 *     (token / sample / square weighting, training.md §7),
 *   - reverse-mode gradients of the loss with respect to every trainable tensor (graph/autodiff).
 *
 * inputs   pixel_values [T, 3, S, S] (when images are used), token_embeds [L, H],
 *          merge_index [L] int64 (row of [token_embeds; vit rows] per position), rope_cos/sin [L, d],
 *          segment_ids [L] int64 (sample of each position in a pack: block-diagonal causal attention),
 *          logits_positions [K] int64, targets [K] int64, loss_weights [K] f32,
 *          one float32 input per trainable tensor (checkpoint or PEFT name), dropout masks,
 *          drop-path masks [T, 1, 1] per ViT residual branch (with a drop path rate)
 * outputs  loss [], grad.<name> per trainable tensor, logits [1, K, V] (on request),
 *          grad.token_embeds [L, H] (when the token embedding is trained)
 */
import { GraphBuilder, type Value } from '../graph/builder.ts';
import { inlineGraph } from '../graph/inline.ts';
import { addGradients, graphInfo, lossSeed } from '../graph/autodiff/index.ts';
import type { ModelConfig } from './config.ts';
import { buildVisionGraph, VISION_INPUT, VISION_OUTPUT } from './vision.ts';
import { buildDecoderGraph, DECODER_INPUTS, LOGITS_OUTPUT, pastKeyName, pastValueName } from './decoder.ts';
import { LLM_LORA_TARGETS, VISION_LORA_TARGETS, loraRewrite, type LoraModule, type LoraSpec } from './lora.ts';
import type { WeightSource } from './weights.ts';
import { familySpec } from './families.ts';
import { dropPathHook, type DropPathInput } from './drop-path.ts';
import { fail } from '../errors.ts';
import { addRecomputedGradients } from './recompute.ts';

export const TRAIN_INPUTS = {
  pixelValues: 'pixel_values',
  tokenEmbeds: 'token_embeds',
  mergeIndex: 'merge_index',
  cos: 'rope_cos',
  sin: 'rope_sin',
  logitsPositions: 'logits_positions',
  targets: 'targets',
  lossWeights: 'loss_weights',
  /** [L] int64: the packed sample of every position (all 0 for one sample); no attention across samples. */
  segmentIds: 'segment_ids',
} as const;
export const LOSS_OUTPUT = 'loss';
/** The logits [1, K, V] at the supervised positions (fetched only when asked for). */
export const TRAIN_LOGITS_OUTPUT = 'logits';
export const gradName = (param: string) => `grad.${param}`;
/** d loss / d token_embeds [L, H] (with `trainEmbedding`). */
export const TOKEN_EMBEDS_GRAD = gradName(TRAIN_INPUTS.tokenEmbeds);

export interface TrainingGraphOptions {
  /** Include InternViT + mlp1 (pixel_values input); without it the batch must be text-only. */
  vision: boolean;
  /** Checkpoint tensors trained in full (fed as float32 inputs), e.g. the projector's. */
  trainable: readonly string[];
  llmLora?: LoraSpec;
  visionLora?: LoraSpec;
  /** Output matrix name (the tied embedding when the checkpoint has no head). */
  lmHead?: string;
  /**
   * Train the token embedding table: its rows stay gathered outside the graph (token_embeds), the
   * graph outputs grad.token_embeds, and the runtime scatter-adds it into the table's gradient (plus
   * the head's gradient when the table is also the output matrix).
   */
  trainEmbedding?: boolean;
  /** InternViT drop path rate R (training.md §8.1; default 0 = none): mask inputs per layer branch. */
  dropPathRate?: number;
  /** Recompute each ViT / decoder layer's activations in the backward (recompute.ts): same gradients, less memory. */
  recompute?: boolean;
}

export interface TrainableTensor {
  name: string;
  shape: number[];
  /** The token embedding table (rows gathered by token id outside the graph). */
  tokenEmbedding?: boolean;
  /** Not a graph input (an untied token embedding: used only outside the graph). */
  outsideGraph?: boolean;
}

export interface TrainingGraph {
  graph: GraphBuilder;
  /** Every trainable input in graph order: checkpoint tensors, then LoRA A/B. */
  params: TrainableTensor[];
  loraModules: LoraModule[];
  /** Dropout-mask inputs (module → input name and per-row features). */
  masks: { name: string; scope: 'language_model' | 'vision_model'; features: number }[];
  /** Drop-path mask inputs [T, 1, 1] of the ViT's residual branches. */
  dropPath: DropPathInput[];
}

export function buildTrainingGraph(cfg: ModelConfig, src: WeightSource, opts: TrainingGraphOptions): TrainingGraph {
  const { hiddenSize: H, numKvHeads: KVH, headDim: d, numLayers } = cfg.llm;
  const g = new GraphBuilder('minivl_train');
  const params: TrainableTensor[] = [];
  const masks: TrainingGraph['masks'] = [];
  const dropPath: DropPathInput[] = [];
  const declared = new Map<string, Value>();
  const paramInput = (name: string, dims: (number | string)[]): Value => {
    const hit = declared.get(name);
    if (hit) return hit;
    const v = g.input(name, 'float32', dims);
    declared.set(name, v);
    if (name.startsWith('lora_mask.')) masks.push({ name, scope: name.includes('vision_model.') ? 'vision_model' : 'language_model', features: dims[dims.length - 1] as number });
    else params.push({ name, shape: dims as number[] });
    return v;
  };
  const trainable = new Set(opts.trainable);
  const embedName = familySpec(cfg.llm).embed;
  if (opts.trainEmbedding && (opts.lmHead ?? familySpec(cfg.llm).lmHead) === embedName) trainable.add(embedName); // tied: the head's gradient adds
  const substitute = (init: { name: string; dims: number[] }) => (trainable.has(init.name) ? paramInput(init.name, init.dims) : undefined);
  const loraModules: LoraModule[] = [];

  const tokenEmbeds = g.input(TRAIN_INPUTS.tokenEmbeds, 'float32', ['L', H]);
  const mergeIndex = g.input(TRAIN_INPUTS.mergeIndex, 'int64', ['L']);
  let rows = tokenEmbeds;
  if (opts.vision) {
    const pv = g.input(TRAIN_INPUTS.pixelValues, 'float32', ['T', cfg.vision.numChannels, cfg.imageSize, cfg.imageSize]);
    const vg = buildVisionGraph(cfg, src, opts.dropPathRate ? { residualBranchScale: dropPathHook(opts.dropPathRate, cfg.vision.numLayers, dropPath) } : {});
    const visionInputs: Record<string, Value> = { [VISION_INPUT]: pv };
    for (const m of dropPath) visionInputs[m.name] = g.input(m.name, 'float32', ['T', 1, 1]);
    const rewrite = opts.visionLora
      ? loraRewrite('vision_model', opts.visionLora, opts.visionLora.targets ?? VISION_LORA_TARGETS, paramInput, loraModules, (inF) => ['T', 'N', inF])
      : undefined;
    const out = inlineGraph(g, vg, { prefix: 'vision/', inputs: visionInputs, substitute, rewrite });
    rows = g.concat([tokenEmbeds, g.reshape(out[VISION_OUTPUT]!, [-1, H])], 0);
  } else {
    rows = g.concat([tokenEmbeds], 0);
  }

  // The whole sequence at once: the decoder's past is one zero row masked out (−inf). Inputs are
  // given leading 1s up to the rank the decoder declares (a batch of one sequence).
  const dg = buildDecoderGraph(cfg, src, { lmHead: opts.lmHead, segmentIds: true });
  const rankOf = (name: string) => dg.listInputs().find((i) => i.name === name)?.dims?.length ?? fail(`decoder graph: no input '${name}'`);
  const lead = (v: Value, name: string, own: number[]) => {
    const extra = rankOf(name) - own.length;
    return extra === 0 ? v : g.reshape(v, [...Array(extra).fill(1), ...own]);
  };
  const ones = (name: string, inner: number[]) => Array(rankOf(name) - inner.length).fill(1).concat(inner) as number[];
  const zeroRow = g.constF32(new Float32Array(KVH * d), ones(pastKeyName(0), [KVH, 1, d]));
  const decoderInputs: Record<string, Value> = {
    [DECODER_INPUTS.embeds]: lead(g.gather(rows, mergeIndex, 0), DECODER_INPUTS.embeds, [-1, H]),
    [DECODER_INPUTS.cos]: lead(g.input(TRAIN_INPUTS.cos, 'float32', ['L', d]), DECODER_INPUTS.cos, [-1, d]),
    [DECODER_INPUTS.sin]: lead(g.input(TRAIN_INPUTS.sin, 'float32', ['L', d]), DECODER_INPUTS.sin, [-1, d]),
    [DECODER_INPUTS.pastMask]: g.constF32([-Infinity], ones(DECODER_INPUTS.pastMask, [1])),
    [DECODER_INPUTS.logitsPositions]: g.input(TRAIN_INPUTS.logitsPositions, 'int64', ['K']),
    [DECODER_INPUTS.segmentIds]: g.input(TRAIN_INPUTS.segmentIds, 'int64', ['L']),
  };
  for (let i = 0; i < numLayers; i++) {
    decoderInputs[pastKeyName(i)] = zeroRow;
    decoderInputs[pastValueName(i)] = zeroRow;
  }
  const rewrite = opts.llmLora
    ? loraRewrite('language_model', opts.llmLora, opts.llmLora.targets ?? LLM_LORA_TARGETS[cfg.llm.family], paramInput, loraModules, (inF) => [1, 'L', inF])
    : undefined;
  const logits = inlineGraph(g, dg, { prefix: 'decoder/', inputs: decoderInputs, substitute, rewrite })[LOGITS_OUTPUT]!; // [1, K, V]

  // loss = −Σ_k w_k · log_softmax(logits_k)[target_k]
  const targets = g.input(TRAIN_INPUTS.targets, 'int64', ['K']);
  const weights = g.input(TRAIN_INPUTS.lossWeights, 'float32', ['K']);
  const logp = g.op1('LogSoftmax', [logits], { axis: -1 });
  const picked = g.reshape(g.op1('GatherElements', [logp, g.reshape(targets, [1, -1, 1])], { axis: 2 }), [-1]);
  const loss = g.op1('Neg', [g.op1('ReduceSum', [g.mul(picked, weights)], { keepdims: 0 })]);
  g.output(loss, LOSS_OUTPUT, 'float32', []);
  g.output(logits, TRAIN_LOGITS_OUTPUT, 'float32', [1, 'K', cfg.llm.vocabSize]);

  for (const t of opts.trainable) if (!declared.has(t)) throw new Error(`training graph: trainable tensor '${t}' is not used by the graphs`);
  const info = graphInfo(g);
  if (opts.trainEmbedding) {
    const tied = params.find((p) => p.name === embedName);
    if (tied) tied.tokenEmbedding = true;
    else params.push({ name: embedName, shape: [...src.ref(embedName).shape], tokenEmbedding: true, outsideGraph: true });
  }
  const wrt = [...params.filter((p) => !p.outsideGraph).map((p) => p.name), ...(opts.trainEmbedding ? [tokenEmbeds.name] : [])];
  const grads = opts.recompute
    ? addRecomputedGradients(g, { wrt, loss: loss.name }, info)
    : addGradients(g, { wrt, seeds: lossSeed(g, info, loss.name) }, info).grads;
  for (const p of params) if (!p.outsideGraph) g.output(grads.get(p.name)!, gradName(p.name), 'float32', p.shape);
  if (opts.trainEmbedding) g.output(grads.get(tokenEmbeds.name)!, TOKEN_EMBEDS_GRAD, 'float32', ['L', H]);
  return { graph: g, params, loraModules, masks, dropPath };
}
