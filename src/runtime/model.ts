/**
 * A loaded InternVL model: config + checkpoint validated, three ONNX graphs built with external
 * weights pointing into the safetensors files, and their ONNX Runtime sessions:
 *   vision  pixel_values → vit_embeds            (model/vision.ts)
 *   embed   input_ids → token embeddings         (model/decoder.ts buildEmbedGraph)
 *   decoder inputs_embeds + rope + past → logits, new K/V   (model/decoder.ts)
 */
import type { Checkpoint } from '../io/checkpoint.ts';
import type { ModelConfig } from '../model/config.ts';
import { openModelCheckpoint, outputWeightName } from '../model/inventory.ts';
import { checkpointWeights } from '../model/weights.ts';
import { buildVisionGraph, VISION_INPUT, VISION_OUTPUT, VISION_HIDDEN_OUTPUT } from '../model/vision.ts';
import {
  buildDecoderGraph, buildEmbedGraph, DECODER_INPUTS, LOGITS_OUTPUT, HIDDEN_STATES_OUTPUT,
  pastKeyName, pastValueName, presentKeyName, presentValueName,
} from '../model/decoder.ts';
import { resizePositionEmbedding } from '../model/posembed.ts';
import { Rope, positionRange } from '../model/rope.ts';
import { mergeImageEmbeds } from '../model/merge.ts';
import { createSession, ort } from './session.ts';
import { fail } from '../errors.ts';

export interface ModelLoadOptions {
  /** Add debug outputs (vision_last_hidden_state, per-layer hidden states) to the graphs. */
  debugOutputs?: boolean;
  intraOpNumThreads?: number;
  disablePrepacking?: boolean;
  /** Called with warnings (e.g. unknown tensors in the checkpoint). */
  warn?: (msg: string) => void;
}

/**
 * Past keys/values: per layer one head-major [KVH, capacity, headDim] float32 buffer whose first
 * `length` rows of every head are the cached positions (the KVCache's own buffers, fed zero-copy).
 */
export interface PastKV {
  length: number;
  capacity: number;
  keys: Float32Array[];
  values: Float32Array[];
}

export interface ForwardArgs {
  /** [S, H] float32 input embeddings of the S new positions. */
  embeds: Float32Array;
  /** Cached keys/values of the previous positions (none = a fresh sequence). */
  past?: PastKV | null;
  /** Rows (0..S−1 of this call) to compute logits for; default: the last one. */
  logitsPositions?: ArrayLike<number>;
  /** Position id of the first new row; default: past length. */
  startPosition?: number;
  /**
   * Sequence length the RoPE variants assume (Phi-3 factor choice, InternLM2 dynamic NTK); default
   * start + S. A chunked prefill passes the whole prompt's end (see DecodeState.feed).
   */
  ropeLength?: number;
}

export interface ForwardResult {
  /** [K, vocab] logits at `logitsPositions`. */
  logits: Float32Array;
  /** Per layer [KVH, S, headDim] (head-major like the cache): this call's keys (after rotary) and values. */
  presentKeys: Float32Array[];
  presentValues: Float32Array[];
  /** [L+1, K, H] (debug graphs only): embeddings, each layer's output, the final-norm output. */
  hiddenStates?: Float32Array;
}

export interface EncodeResult {
  /** [T, numImageToken, H_llm] */
  vitEmbeds: Float32Array;
  /** [T, 1 + grid², H_vit] (debug graphs only) */
  visionHiddenState?: Float32Array;
}

export class Model {
  readonly rope: Rope;
  /**
   * Stand-in past for calls without one: one masked row, so no tensor in the graph is ever
   * zero-sized (a zero-sized past broke a Reshape with −1 in an earlier form of the graph).
   */
  private readonly emptyPast: Float32Array;

  private constructor(
    readonly dir: string,
    readonly config: ModelConfig,
    readonly checkpoint: Checkpoint,
    private readonly vision: ort.InferenceSession,
    private readonly embedder: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
    readonly debugOutputs: boolean,
  ) {
    this.rope = new Rope(config.llm);
    this.emptyPast = new Float32Array(config.llm.numKvHeads * config.llm.headDim);
  }

  static async load(dir: string, opts: ModelLoadOptions = {}): Promise<Model> {
    // One read of config.json: the checkpoint holds it, the config is parsed from that.
    const { ckpt, cfg: config, report } = await openModelCheckpoint(dir);
    if (report.unexpected.length > 0) {
      opts.warn?.(`${dir}: ignoring ${report.unexpected.length} unknown tensor(s), e.g. '${report.unexpected[0]}'`);
    }
    const src = checkpointWeights(ckpt);
    const debugOutputs = opts.debugOutputs ?? false;

    const vc = config.vision;
    const grid = config.imageSize / vc.patchSize;
    const storedGrid = vc.imageSize / vc.patchSize;
    let resizedPositionEmbedding: Float32Array | undefined;
    if (grid !== storedGrid) {
      const pos = await ckpt.readFloat32('vision_model.embeddings.position_embedding');
      resizedPositionEmbedding = resizePositionEmbedding(pos, storedGrid, grid, vc.hiddenSize);
    }
    const sess = { externalFolder: src.externalFolder, intraOpNumThreads: opts.intraOpNumThreads, disablePrepacking: opts.disablePrepacking };
    const visionG = buildVisionGraph(config, src, { debugOutputs, resizedPositionEmbedding });
    const embedG = buildEmbedGraph(config, src);
    const decoderG = buildDecoderGraph(config, src, { debugOutputs, lmHead: outputWeightName(ckpt, config) });
    const [vision, embedder, decoder] = await Promise.all([
      createSession(visionG.toBytes(), { ...sess, label: `${dir} (vision graph)` }),
      createSession(embedG.toBytes(), { ...sess, label: `${dir} (embedding graph)` }),
      createSession(decoderG.toBytes(), { ...sess, label: `${dir} (decoder graph)` }),
    ]);
    return new Model(dir, config, ckpt, vision, embedder, decoder, debugOutputs);
  }

  /** pixel_values [T, 3, S, S] float32 (normalized) → vit_embeds [T, 256, H]. */
  async encodeImages(pixelValues: Float32Array, numTiles: number): Promise<EncodeResult> {
    const S = this.config.imageSize;
    const C = this.config.vision.numChannels;
    const per = C * S * S;
    if (!Number.isInteger(numTiles) || numTiles < 1 || pixelValues.length !== numTiles * per) {
      fail(`pixel_values: expected [${numTiles}, ${C}, ${S}, ${S}] = ${numTiles * per} floats, got ${pixelValues.length}`);
    }
    const names = this.debugOutputs ? [VISION_OUTPUT, VISION_HIDDEN_OUTPUT] : [VISION_OUTPUT];
    const out = await this.vision.run({ [VISION_INPUT]: new ort.Tensor('float32', pixelValues, [numTiles, C, S, S]) }, names);
    return {
      vitEmbeds: out[VISION_OUTPUT]!.data as Float32Array,
      visionHiddenState: this.debugOutputs ? (out[VISION_HIDDEN_OUTPUT]!.data as Float32Array) : undefined,
    };
  }

  /** Token embeddings [N, H] for ids (bf16 table rows widened to float32). */
  async embed(ids: ArrayLike<number>): Promise<Float32Array> {
    const V = this.config.llm.vocabSize;
    const big = new BigInt64Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= V) fail(`token id ${id} at position ${i} is outside the vocabulary (0..${V - 1})`);
      big[i] = BigInt(id);
    }
    const out = await this.embedder.run({ input_ids: new ort.Tensor('int64', big, [ids.length]) });
    return out.embeds!.data as Float32Array;
  }

  /** Embeddings of `ids` with the image rows merged at the IMG_CONTEXT positions (§6). */
  async embedWithImages(ids: ArrayLike<number>, vitEmbeds: Float32Array | null, imgContextId: number): Promise<Float32Array> {
    const e = await this.embed(ids);
    if (vitEmbeds) mergeImageEmbeds(e, ids, vitEmbeds, imgContextId, this.config.llm.hiddenSize);
    return e;
  }

  /** One decoder call over S new positions, attending to `past` + themselves. */
  async forward(args: ForwardArgs): Promise<ForwardResult> {
    const { hiddenSize: H, numLayers: L, numKvHeads: KVH, headDim: d } = this.config.llm;
    const S = args.embeds.length / H;
    if (!Number.isInteger(S) || S < 1) fail(`inputs_embeds: length ${args.embeds.length} is not a positive multiple of hidden size ${H}`);
    const P = args.past?.length ?? 0;
    const start = args.startPosition ?? P;
    const lp = args.logitsPositions ?? [S - 1];
    const lpBig = new BigInt64Array(lp.length);
    for (let i = 0; i < lp.length; i++) {
      const p = lp[i]!;
      if (!Number.isInteger(p) || p < 0 || p >= S) fail(`logits position ${p} is outside the ${S} new positions`);
      lpBig[i] = BigInt(p);
    }
    const { cos, sin } = this.rope.tables(positionRange(start, S), args.ropeLength ?? start + S);
    const feeds: Record<string, ort.Tensor> = {
      [DECODER_INPUTS.embeds]: new ort.Tensor('float32', args.embeds, [1, S, H]),
      [DECODER_INPUTS.cos]: new ort.Tensor('float32', cos, [S, d]),
      [DECODER_INPUTS.sin]: new ort.Tensor('float32', sin, [S, d]),
      [DECODER_INPUTS.logitsPositions]: new ort.Tensor('int64', lpBig, [lp.length]),
    };
    // An empty past is fed as the one-row stand-in, not as the (masked) cache buffers: every past row
    // costs attention work whether it is masked or not.
    const past = P > 0 ? args.past! : null;
    const C = past?.capacity ?? 1;
    if (P > C) fail(`past keys/values: length ${P} exceeds the capacity ${C}`);
    const n = KVH * C * d;
    for (let i = 0; i < L; i++) {
      const k = past ? past.keys[i]! : this.emptyPast;
      const v = past ? past.values[i]! : this.emptyPast;
      if (k.length !== n || v.length !== n) fail(`past keys/values of layer ${i}: expected [${KVH}, ${C}, ${d}] = ${n} floats, got ${k.length}/${v.length}`);
      feeds[pastKeyName(i)] = new ort.Tensor('float32', k, [1, KVH, C, d]);
      feeds[pastValueName(i)] = new ort.Tensor('float32', v, [1, KVH, C, d]);
    }
    // Additive mask of the past: 0 for the P valid rows, −inf for the rest of the capacity.
    feeds[DECODER_INPUTS.pastMask] = new ort.Tensor('float32', new Float32Array(C).fill(-Infinity, P), [C]);
    const names = [LOGITS_OUTPUT];
    for (let i = 0; i < L; i++) names.push(presentKeyName(i), presentValueName(i));
    if (this.debugOutputs) names.push(HIDDEN_STATES_OUTPUT);
    const out = await this.decoder.run(feeds, names);
    return {
      logits: out[LOGITS_OUTPUT]!.data as Float32Array,
      presentKeys: Array.from({ length: L }, (_, i) => out[presentKeyName(i)]!.data as Float32Array),
      presentValues: Array.from({ length: L }, (_, i) => out[presentValueName(i)]!.data as Float32Array),
      hiddenStates: this.debugOutputs ? (out[HIDDEN_STATES_OUTPUT]!.data as Float32Array) : undefined,
    };
  }

  async release(): Promise<void> {
    await Promise.all([this.vision.release(), this.embedder.release(), this.decoder.release()]);
  }
}
