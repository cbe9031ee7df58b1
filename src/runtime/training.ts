/**
 * One forward + backward pass of the training graph (model/training.ts) on ONNX Runtime: token
 * embeddings from the embedding graph, the image-row merge index, RoPE tables, the shifted labels
 * and their loss weights are prepared here; the graph returns the loss and the gradient of every
 * trainable tensor.
 */
import type { Checkpoint } from '../io/checkpoint.ts';
import type { ModelConfig } from '../model/config.ts';
import { openModelCheckpoint, outputWeightName } from '../model/inventory.ts';
import { checkpointWeights } from '../model/weights.ts';
import { buildEmbedGraph } from '../model/decoder.ts';
import { familySpec } from '../model/families.ts';
import { buildTrainingGraph, gradName, LOSS_OUTPUT, TOKEN_EMBEDS_GRAD, TRAIN_INPUTS, TRAIN_LOGITS_OUTPUT, type TrainingGraph, type TrainingGraphOptions } from '../model/training.ts';
import { Rope, positionRange } from '../model/rope.ts';
import { createSession, ort } from './session.ts';
import { fail } from '../errors.ts';

export const IGNORE_INDEX = -100;

export interface TrainingBatch {
  /** [L] token ids of one (packed) sequence. */
  inputIds: ArrayLike<number>;
  /** [L] unshifted labels (−100 = not supervised); position t's logits predict labels[t + 1]. */
  labels: ArrayLike<number>;
  /** [T, 3, S, S] normalised tiles whose rows fill the `<IMG_CONTEXT>` positions, in order. */
  pixelValues?: Float32Array;
  /** Per tile: 1 = its rows are used, 0 = discarded (a text record's dummy tile); default all 1. */
  imageFlags?: ArrayLike<number>;
  imgContextId?: number;
  /**
   * Per-token weights (unshifted, training.md §7.2: 1, 1/n or 1/√n of the token's sample); default 1.
   * The loss is Σ_t CE_t · w_{t+1} / D.
   */
  lossWeights?: ArrayLike<number>;
  /** D; default Σ_t w_{t+1} over the supervised positions (the micro-batch's own). */
  denominator?: number;
  /**
   * A packed sequence (training.md §5.2): [0, len₁, len₁+len₂, …, L]. Each sample attends only to
   * itself, its positions restart at 0, and its last token predicts nothing of the next sample.
   * Default [0, L] (one sample).
   */
  cuSeqlens?: readonly number[];
  /** Dropout masks by input name (values 0 or 1/(1−p)), when the graph has dropout. */
  masks?: Map<string, Float32Array>;
}

export interface StepResult {
  loss: number;
  grads: Map<string, Float32Array>;
  /** Supervised positions of the batch. */
  supervised: number;
  /** [K, V] logits at the supervised positions (when asked for). */
  logits?: Float32Array;
  /** The K positions (t with labels[t + 1] supervised). */
  positions: number[];
}

export interface TrainingSessionOptions extends Omit<TrainingGraphOptions, 'lmHead' | 'trainable'> {
  /** Checkpoint tensors trained in full: names, or a test on each checkpoint tensor name. */
  trainable: readonly string[] | ((name: string) => boolean);
  intraOpNumThreads?: number;
  /**
   * Skip ORT's weight prepacking (default true): each frozen weight feeds a forward and a backward product,
   * packed differently. Measured on the 1B LoRA step (512 tokens, 2 cores): 11.6 s / 8.2 GiB without,
   * 24.4 s / 9.96 GiB with (the latter on a busier machine).
   */
  disablePrepacking?: boolean;
  /**
   * ORT's CPU memory arena for the training graph (default off: the arena keeps its high-water mark and
   * grows by powers of two). Measured on the 1B full-mode step (512 tokens, 2 cores): peak RSS 16.05 GiB
   * with the arena, 14.81 GiB without; no slower.
   */
  cpuMemArena?: boolean;
}

export class TrainingSession {
  readonly rope: Rope;
  private constructor(
    readonly config: ModelConfig,
    readonly checkpoint: Checkpoint,
    readonly graph: TrainingGraph,
    /** null when the token embedding is trained (its rows are then gathered from the trained values). */
    private readonly embedder: ort.InferenceSession | null,
    private readonly session: ort.InferenceSession,
  ) {
    this.rope = new Rope(config.llm);
  }

  static async create(dir: string, opts: TrainingSessionOptions): Promise<TrainingSession> {
    const { ckpt, cfg } = await openModelCheckpoint(dir);
    const src = checkpointWeights(ckpt);
    const embedName = familySpec(cfg.llm).embed;
    // A trained embedding is declared by trainEmbedding (the graph uses it only when it is also the head).
    const trainable = (typeof opts.trainable === 'function' ? ckpt.names().filter(opts.trainable) : opts.trainable).filter((n) => !(opts.trainEmbedding && n === embedName));
    const tg = buildTrainingGraph(cfg, src, { ...opts, trainable, lmHead: outputWeightName(ckpt, cfg) });
    const sess = { externalFolder: src.externalFolder, intraOpNumThreads: opts.intraOpNumThreads, disablePrepacking: opts.disablePrepacking ?? true, cpuMemArena: opts.cpuMemArena ?? false };
    const [embedder, session] = await Promise.all([
      opts.trainEmbedding ? null : createSession(buildEmbedGraph(cfg, src).toBytes(), { ...sess, label: `${dir} (embedding graph)` }),
      createSession(tg.graph.toBytes(), { ...sess, label: `${dir} (training graph)` }),
    ]);
    return new TrainingSession(cfg, ckpt, tg, embedder, session);
  }

  /** Loss and gradients of one micro-batch for the given trainable values (by name). */
  async step(batch: TrainingBatch, params: ReadonlyMap<string, Float32Array>, opts: { logits?: boolean } = {}): Promise<StepResult> {
    const { hiddenSize: H, headDim: d } = this.config.llm;
    const ids = batch.inputIds;
    const L = ids.length;
    if (batch.labels.length !== L) fail(`labels: ${batch.labels.length} entries for ${L} tokens`);
    const feeds: Record<string, ort.Tensor> = {};

    const embedding = this.graph.params.find((p) => p.tokenEmbedding);
    let tok: Float32Array;
    if (embedding) {
      tok = gatherRows(params.get(embedding.name) ?? fail(`no value for trainable tensor '${embedding.name}'`), ids, H);
    } else {
      const big = new BigInt64Array(L);
      for (let i = 0; i < L; i++) big[i] = BigInt(ids[i]!);
      tok = (await this.embedder!.run({ input_ids: new ort.Tensor('int64', big, [L]) })).embeds!.data as Float32Array;
    }
    feeds[TRAIN_INPUTS.tokenEmbeds] = new ort.Tensor('float32', tok, [L, H]);

    // Position i reads row i of the token embeddings, or row L + (row of the r-th image position
    // among the tiles whose image flag is 1: a text record's dummy tile gives no rows).
    const hasVision = this.graph.graph.listInputs().some((i) => i.name === TRAIN_INPUTS.pixelValues);
    const S = this.config.imageSize;
    const C = this.config.vision.numChannels;
    const rowsPerTile = (S / this.config.vision.patchSize) ** 2 * this.config.downsampleRatio ** 2;
    let pv = batch.pixelValues;
    if (!pv && hasVision) pv = new Float32Array(C * S * S); // the graph always runs its vision part
    if (pv && !hasVision) fail('this training graph has no vision part; the batch has images');
    const T = pv ? pv.length / (C * S * S) : 0;
    if (!Number.isInteger(T)) fail(`pixel_values: ${pv!.length} floats is not a whole number of [${C}, ${S}, ${S}] tiles`);
    const flags = batch.imageFlags ?? Array.from({ length: T }, () => (batch.pixelValues ? 1 : 0));
    if (flags.length !== T) fail(`image flags: ${flags.length} for ${T} tile(s)`);
    const rowOf: number[] = [];
    for (let t = 0; t < T; t++) if (flags[t]) for (let j = 0; j < rowsPerTile; j++) rowOf.push(L + t * rowsPerTile + j);
    let count = 0;
    for (let i = 0; i < L; i++) if (ids[i] === batch.imgContextId) count++;
    if (count !== rowOf.length) fail(`the sequence has ${count} <IMG_CONTEXT> tokens but the tiles give ${rowOf.length} rows`);
    const merge = new BigInt64Array(L);
    let r = 0;
    for (let i = 0; i < L; i++) merge[i] = BigInt(count > 0 && ids[i] === batch.imgContextId ? rowOf[r++]! : i);
    if (pv) feeds[TRAIN_INPUTS.pixelValues] = new ort.Tensor('float32', pv, [T, C, S, S]);
    feeds[TRAIN_INPUTS.mergeIndex] = new ort.Tensor('int64', merge, [L]);

    const cu = batch.cuSeqlens ?? [0, L];
    if (cu[0] !== 0 || cu.at(-1) !== L || cu.some((c, i) => i > 0 && !(c > cu[i - 1]!))) fail(`cu_seqlens [${cu.join(', ')}] do not split ${L} tokens into samples`);
    const positions = new Int32Array(L);
    const segments = new BigInt64Array(L);
    for (let s = 0; s + 1 < cu.length; s++) for (let i = cu[s]!; i < cu[s + 1]!; i++) { positions[i] = i - cu[s]!; segments[i] = BigInt(s); }
    // seqLength = the whole pack, as the reference's rotary call sees it (matters only for Phi-3 / InternLM2 scaling).
    const { cos, sin } = this.rope.tables(cu.length === 2 ? positionRange(0, L) : positions, L);
    feeds[TRAIN_INPUTS.cos] = new ort.Tensor('float32', cos, [L, d]);
    feeds[TRAIN_INPUTS.sin] = new ort.Tensor('float32', sin, [L, d]);
    feeds[TRAIN_INPUTS.segmentIds] = new ort.Tensor('int64', segments, [L]);

    const { positions: logitsAt, targets, weights } = shiftedTargets(batch);
    if (logitsAt.length === 0) fail('the batch has no supervised tokens');
    feeds[TRAIN_INPUTS.logitsPositions] = new ort.Tensor('int64', logitsAt, [logitsAt.length]);
    feeds[TRAIN_INPUTS.targets] = new ort.Tensor('int64', targets, [targets.length]);
    feeds[TRAIN_INPUTS.lossWeights] = new ort.Tensor('float32', weights, [weights.length]);

    for (const p of this.graph.params) {
      if (p.outsideGraph) continue;
      const v = params.get(p.name) ?? fail(`no value for trainable tensor '${p.name}'`);
      const n = p.shape.reduce((a, b) => a * b, 1);
      if (v.length !== n) fail(`trainable tensor '${p.name}': ${v.length} values for [${p.shape.join(', ')}]`);
      feeds[p.name] = new ort.Tensor('float32', v, p.shape);
    }
    const vitTokens = (this.config.imageSize / this.config.vision.patchSize) ** 2 + 1;
    for (const m of this.graph.masks) {
      const v = batch.masks?.get(m.name) ?? fail(`no dropout mask '${m.name}'`);
      const dims = m.scope === 'language_model' ? [1, L, m.features] : [v.length / (vitTokens * m.features), vitTokens, m.features];
      feeds[m.name] = new ort.Tensor('float32', v, dims);
    }
    for (const m of this.graph.dropPath) {
      const v = batch.masks?.get(m.name) ?? fail(`no drop-path mask '${m.name}'`);
      if (v.length !== T) fail(`drop-path mask '${m.name}': ${v.length} values for ${T} tile(s)`);
      feeds[m.name] = new ort.Tensor('float32', v, [T, 1, 1]);
    }

    const inGraph = this.graph.params.filter((p) => !p.outsideGraph);
    const names = [LOSS_OUTPUT, ...inGraph.map((p) => gradName(p.name)), ...(embedding ? [TOKEN_EMBEDS_GRAD] : []), ...(opts.logits ? [TRAIN_LOGITS_OUTPUT] : [])];
    const out = await this.session.run(feeds, names);
    const grads = new Map<string, Float32Array>();
    for (const p of inGraph) grads.set(p.name, out[gradName(p.name)]!.data as Float32Array);
    if (embedding) {
      // The Gather by token id happens here, so its gradient does too: rows of d loss/d token_embeds
      // add into the table's gradient (on top of the head's when the table is also the output matrix).
      const g = grads.get(embedding.name) ?? new Float32Array(embedding.shape[0]! * H);
      scatterAddRows(g, ids, out[TOKEN_EMBEDS_GRAD]!.data as Float32Array, H);
      grads.set(embedding.name, g);
    }
    return {
      loss: Number(out[LOSS_OUTPUT]!.data[0]),
      grads,
      supervised: logitsAt.length,
      positions: Array.from(logitsAt, Number),
      logits: opts.logits ? (out[TRAIN_LOGITS_OUTPUT]!.data as Float32Array) : undefined,
    };
  }

  async release(): Promise<void> {
    await Promise.all([this.embedder?.release(), this.session.release()]);
  }
}

/** rows[i] = table[ids[i]] for a [V, H] table. */
export function gatherRows(table: Float32Array, ids: ArrayLike<number>, H: number): Float32Array {
  const out = new Float32Array(ids.length * H);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!(id >= 0 && (id + 1) * H <= table.length)) fail(`token id ${id} is outside the embedding table (${table.length / H} rows)`);
    out.set(table.subarray(id * H, (id + 1) * H), i * H);
  }
  return out;
}

/** table[ids[i]] += rows[i], in position order (the gradient of gatherRows). */
export function scatterAddRows(table: Float32Array, ids: ArrayLike<number>, rows: Float32Array, H: number): void {
  for (let i = 0; i < ids.length; i++) {
    const base = ids[i]! * H;
    for (let j = 0; j < H; j++) table[base + j] = table[base + j]! + rows[i * H + j]!;
  }
}

/** Logits positions t with labels[t + 1] supervised, their targets, and the weights w_{t+1} / D. */
export function shiftedTargets(batch: Pick<TrainingBatch, 'labels' | 'lossWeights' | 'denominator' | 'cuSeqlens'>): { positions: BigInt64Array; targets: BigInt64Array; weights: Float32Array } {
  const { labels } = batch;
  const starts = new Set(batch.cuSeqlens ?? []);
  const pos: number[] = [];
  const w: number[] = [];
  for (let t = 0; t + 1 < labels.length; t++) {
    // A sample's first token is no target: the previous sample's last position does not predict it.
    if (labels[t + 1] === IGNORE_INDEX || starts.has(t + 1)) continue;
    pos.push(t);
    w.push(batch.lossWeights ? batch.lossWeights[t + 1]! : 1);
  }
  const D = batch.denominator ?? w.reduce((a, b) => a + b, 0);
  return {
    positions: BigInt64Array.from(pos, (p) => BigInt(p)),
    targets: BigInt64Array.from(pos, (p) => BigInt(labels[p + 1]!)),
    weights: Float32Array.from(w, (x) => (D === 0 ? 0 : x / D)),
  };
}
