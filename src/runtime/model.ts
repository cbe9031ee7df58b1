/**
 * A loaded InternVL model: config + checkpoint validated, three ONNX graphs built with external
 * weights pointing into the safetensors files, and their ONNX Runtime sessions:
 *   vision  pixel_values → vit_embeds            (model/vision.ts)
 *   embed   input_ids → token embeddings         (model/decoder.ts buildEmbedGraph)
 *   decoder inputs_embeds + rope + past → logits, new K/V   (model/decoder.ts)
 */
import type { Checkpoint } from '../io/checkpoint.ts';
import type { ModelConfig } from '../model/config.ts';
import { embedTokensName, openModelCheckpoint, outputWeightName } from '../model/inventory.ts';
import { checkpointWeights } from '../model/weights.ts';
import { buildVisionGraph, VISION_INPUT, VISION_OUTPUT, VISION_HIDDEN_OUTPUT } from '../model/vision.ts';
import {
  buildDecoderGraph, buildEmbedGraph, DECODER_INPUTS, LOGITS_OUTPUT, HIDDEN_STATES_OUTPUT,
  pastKeyName, pastValueName, presentKeyName, presentValueName,
} from '../model/decoder.ts';
import { resizePositionEmbedding } from '../model/posembed.ts';
import { Rope, positionRange } from '../model/rope.ts';
import { mergeImageEmbeds } from '../model/merge.ts';
import { readLoraAdapter, applyLoraAdapter, adapterScopes } from '../model/lora-adapter.ts';
import type { LoraScope } from '../model/lora.ts';
import type { GraphBuilder } from '../graph/builder.ts';
import { createSession, ort } from './session.ts';
import { defaultQuantPolicy, type Precision, type PrefillWeights, type QuantPolicy } from './precision.ts';
import { ConvertedWeightSource } from './converted-weights.ts';
import { EmbeddingRows } from './embedding-rows.ts';
import { cacheEntryDir, defaultWeightCacheRoot, ensureConverted, type EnsureResult } from './weight-cache.ts';
import { fail } from '../errors.ts';
import type { Device, DeviceRequest } from '../host/types.ts';
import { computePlan, probeWebGpuFloat16, resolveDevice, sayFloat16Fallback } from './device.ts';
import { toFloat16 } from '../graph/float16.ts';
import { f32ToF16 } from '../io/dtype.ts';
import { lowerForWebGpu } from './webgpu-graph.ts';
import { exposeCacheOutputs, fullKeyName, fullValueName, type GpuPast } from './gpu-kv-decoder.ts';
import { kvBytesPerToken, type KVArray, type KVDtype } from './kv-cache.ts';

export interface ModelLoadOptions {
  /** Add debug outputs (vision_last_hidden_state, per-layer hidden states) to the graphs. */
  debugOutputs?: boolean;
  intraOpNumThreads?: number;
  disablePrepacking?: boolean;
  /** Execution device of the sessions (default `cpu`; `auto`: WebGPU when an adapter exists; see device.ts). */
  device?: DeviceRequest;
  /** Called with warnings (e.g. unknown tensors in the checkpoint). */
  warn?: (msg: string) => void;
  /** Weight precision of the vision and decoder graphs (default fp32: the checkpoint in place; see precision.ts). */
  dtype?: Precision;
  /** Quantization settings for int8/int4 (default: defaultQuantPolicy). */
  quantPolicy?: QuantPolicy;
  /**
   * int4 on the CPU only: multi-row decoder calls (prompt prefill chunks) run on a second decoder session
   * whose LLM linears are int8 as at `dtype int8` (the u8s8 QGEMM, ~2× ORT's 4-bit kernel at hundreds of
   * rows), one-row decode steps on the int4 weights. Costs the int8 copy's memory (peak RSS 1B +0.41 GiB, 4B +3.4 GiB).
   */
  prefillWeights?: PrefillWeights;
  /** Converted-weight cache folder (default: defaultWeightCacheRoot()). */
  weightCacheRoot?: string;
  /** Progress lines of slow steps (weight conversion). */
  log?: (msg: string) => void;
  /** A LoRA adapter folder (adapter_config.json + adapter_model.safetensors) applied unmerged at load (fp32 only). */
  loraAdapter?: string;
  /** ONNX Runtime's verbose log on stderr (e.g. its "Node placements": which provider runs each node). */
  ortVerbose?: boolean;
  /** Element type of the JS-held KV cache (default: defaultKVDtype). */
  kvCache?: KVDtype;
}

/**
 * float16 for int8/int4 on the CPU when the float32 cache would take more than 64 KiB per token (as
 * llama.cpp's default f16 cache): Phi-3-mini (4B, no GQA) 768 KiB per token, 0.77 GiB at 1k context —
 * the 4B's int4 peak RSS 4.12 → 3.56 GiB with it (3.30 with its smaller prefill chunks, decode.ts).
 * The 1B's GQA cache (24 KiB per token) stays float32: small, and the per-layer Casts would cost
 * decode time. fp32 / fp16 weights keep a float32 cache
 * (exactness; the WebGPU float16 path keeps its own GPU-resident cache).
 */
export function defaultKVDtype(llm: { numLayers: number; numKvHeads: number; headDim: number }, precision: Precision, device: Device): KVDtype {
  return device === 'cpu' && (precision === 'int8' || precision === 'int4') && kvBytesPerToken(llm, 'float32') > 64 * 1024 ? 'float16' : 'float32';
}

/**
 * Past keys/values: per layer one head-major [KVH, capacity, headDim] buffer (the model's kvDtype)
 * whose first `length` rows of every head are the cached positions (the KVCache's own buffers, fed
 * zero-copy).
 */
export interface PastKV {
  length: number;
  capacity: number;
  keys: KVArray[];
  values: KVArray[];
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
  /** Per layer [KVH, S, headDim] (head-major like the cache, its kvDtype): this call's keys (after rotary) and values. */
  presentKeys: KVArray[];
  presentValues: KVArray[];
  /** [L+1, K, H] (debug graphs only): embeddings, each layer's output, the final-norm output. */
  hiddenStates?: Float32Array;
}

export interface BatchForwardArgs {
  /** [B, H]: the one new position of each sequence. */
  embeds: Float32Array;
  /** Per layer a buffer holding at least [B, KVH, capacity, headDim] (the batch cache's, fed zero-copy). */
  past: { capacity: number; keys: KVArray[]; values: KVArray[] };
  /** Cached rows per sequence (the new position's id); rows from there to the capacity are masked. */
  lengths: ArrayLike<number>;
}

export interface BatchForwardResult {
  /** [B, vocab]: the next-token logits of each sequence. */
  logits: Float32Array;
  /** Per layer [B, KVH, 1, headDim]: each sequence's new key (after rotary) and value. */
  presentKeys: KVArray[];
  presentValues: KVArray[];
}

export interface EncodeResult {
  /** [T, numImageToken, H_llm] */
  vitEmbeds: Float32Array;
  /** [T, 1 + grid², H_vit] (debug graphs only) */
  visionHiddenState?: Float32Array;
}

export class Model {
  readonly rope: Rope;
  /** Weight precision of the vision and decoder graphs. */
  precision: Precision = 'fp32';
  /** The device the sessions run on (a WebGPU request without an adapter runs on the CPU). */
  device: Device = 'cpu';
  /** Whether the decoder can keep the KV cache on the GPU (GpuKVDecoder; webgpu, fp32 or fp16). */
  gpuCache = false;
  /** Whether the vision and decoder graphs compute in float16 (fp16 on a WebGPU adapter with float16 kernels). */
  float16Compute = false;
  /** Element type of the decoder's past keys/values inputs (float16 with a float16 cache, JS-held or GPU-resident). */
  private pastType: KVDtype = 'float32';
  /** Element type a JS-held KV cache of this model holds (KVCache / BatchKVCache take it). */
  kvDtype: KVDtype = 'float32';
  /** The converted-weight cache entry used (null for fp32), and whether this load built it. */
  weightCache: EnsureResult | null = null;
  /** The weights multi-row calls run on when not the model's own (ModelLoadOptions.prefillWeights), and their cache entry. */
  prefillWeights: PrefillWeights | null = null;
  prefillWeightCache: EnsureResult | null = null;
  private prefillDecoder: ort.InferenceSession | null = null;
  private embeddingRows: EmbeddingRows | null = null;
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
    /** null where the embedding rows are read from the file instead (reduced precisions). */
    private readonly embedder: ort.InferenceSession | null,
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
    const device = await resolveDevice(opts.device, opts.warn);
    const sess = { externalFolder: src.externalFolder, intraOpNumThreads: opts.intraOpNumThreads, disablePrepacking: opts.disablePrepacking, device, verbose: opts.ortVerbose };
    // Other precisions: the vision and decoder graphs read a converted-weight cache entry, planned
    // while the graphs are built and converted (once) before the sessions open. The embedding graph
    // always gathers from the checkpoint's table in place.
    const precision = opts.dtype ?? 'fp32';
    const lmHead = outputWeightName(ckpt, config);
    const cacheRoot = opts.weightCacheRoot ?? defaultWeightCacheRoot();
    let converted: ConvertedWeightSource | null = null;
    let prefillSrc: ConvertedWeightSource | null = null;
    if (opts.prefillWeights && (precision !== 'int4' || device !== 'cpu')) fail(`prefill weights ${opts.prefillWeights} go with int4 weights on the CPU (got ${precision} on ${device})`);
    if (precision !== 'fp32') {
      const policy = opts.quantPolicy ?? defaultQuantPolicy(precision, device);
      converted = new ConvertedWeightSource(ckpt, precision, policy, await cacheEntryDir(cacheRoot, ckpt, precision, policy), lmHead);
      if (opts.prefillWeights) {
        // The same policy with int8's LLM forms (int8 per channel whatever the precision's bits): a decoder-only entry.
        const p8 = { ...policy, llmForm: defaultQuantPolicy('int8', device).llmForm };
        prefillSrc = new ConvertedWeightSource(ckpt, precision, p8, await cacheEntryDir(cacheRoot, ckpt, precision, p8, 'decoder'), lmHead);
      }
    }
    const graphSrc = converted ?? src;
    const adapter = opts.loraAdapter ? await readLoraAdapter(opts.loraAdapter) : null;
    if (adapter && precision !== 'fp32') fail(`--lora applies an adapter to the fp32 graphs only (got ${precision})`);
    const withLora = (g: GraphBuilder, scope: LoraScope) => (adapter && adapterScopes(adapter).has(scope) ? applyLoraAdapter(g, adapter, scope) : g);
    // The fused attention kernel is exact on the CPU provider only (measurements in model/vision.ts).
    const attention = device === 'cpu' ? 'fused' : 'unfused';
    const visionG = withLora(buildVisionGraph(config, graphSrc, { debugOutputs, resizedPositionEmbedding, attention }), 'vision_model');
    const embedG = buildEmbedGraph(config, src);
    const kvDtype = opts.kvCache ?? defaultKVDtype(config.llm, precision, device);
    if (kvDtype === 'float16' && device !== 'cpu') fail(`a float16 JS-held KV cache is for the CPU (device ${device})`);
    const decoderG = withLora(buildDecoderGraph(config, graphSrc, { debugOutputs, lmHead, kvDtype }), 'language_model');
    const prefillG = prefillSrc ? buildDecoderGraph(config, prefillSrc, { debugOutputs, lmHead, kvDtype }) : null;
    if (device === 'webgpu') {
      const left = [...lowerForWebGpu(visionG).map((x) => `${x} (vision)`), ...lowerForWebGpu(decoderG).map((x) => `${x} (decoder)`)];
      if (left.length > 0) opts.warn?.(`webgpu: no WebGPU kernel for ${left.join(', ')}; ONNX Runtime runs those nodes on the CPU`);
    }
    // On WebGPU the decoder also offers its whole KV cache as GPU-resident outputs (gpu-kv-decoder.ts).
    const cacheOutputs = device === 'webgpu' && (precision === 'fp32' || precision === 'fp16') && !debugOutputs ? exposeCacheOutputs(decoderG, config.llm.numLayers) : null;
    // fp16 on WebGPU computes in float16 where the adapter has float16 kernels (device.ts), the
    // GPU-resident cache included (half its size); its past inputs then are float16 too.
    const plan = computePlan(device, precision, device === 'webgpu' && precision === 'fp16' ? await probeWebGpuFloat16() : null);
    if (plan.fallback) sayFloat16Fallback(plan.fallback, opts.warn);
    const cacheIo = cacheOutputs ? Object.keys(cacheOutputs).filter((n) => n.startsWith('cache_')).concat(Array.from({ length: config.llm.numLayers }, (_, i) => [pastKeyName(i), pastValueName(i)]).flat()) : [];
    // Every op computes in float16: keeping Softmax and the norms (or all three) in float32 measured no
    // better on the golden models (logits rel-L2 vs fp32 5.29e-3 → 5.26e-3 / 5.22e-3, qwen2 on lavapipe).
    const vision16 = plan.float16 ? toFloat16(visionG) : null;
    const decoder16 = plan.float16 ? toFloat16(decoderG, { float16Io: cacheIo }) : null;
    const weightCache = converted ? await ensureConverted(ckpt, converted, { log: opts.log }) : null;
    const prefillCache = prefillSrc ? await ensureConverted(ckpt, prefillSrc, { log: opts.log, what: 'int8 prefill linears' }) : null;
    const graphSess = { ...sess, externalFolder: graphSrc.externalFolder };
    // Reduced precisions are about memory: their embedding rows come from the file (embedding-rows.ts)
    // instead of a Gather session holding the whole table (272 MB bf16 for the 1B).
    const rows = converted ? EmbeddingRows.open(ckpt, embedTokensName(config.llm)) : null;
    // The vision, decoder and (int4 with int8 prefill weights) prefill decoder sessions open together;
    // when one fails, the ones that opened are released before the error goes on.
    const open = async (v: GraphBuilder, d: GraphBuilder): Promise<[ort.InferenceSession, ort.InferenceSession, ort.InferenceSession | null]> => {
      const settled = await Promise.allSettled([
        createSession(v.toBytes(), { ...graphSess, label: `${dir} (vision graph)` }),
        createSession(d.toBytes(), { ...graphSess, label: `${dir} (decoder graph)`, preferredOutputLocation: cacheOutputs ?? undefined }),
        prefillG && prefillSrc ? createSession(prefillG.toBytes(), { ...sess, externalFolder: prefillSrc.externalFolder, label: `${dir} (prefill decoder graph, int8 linears)` }) : null,
      ]);
      const failed = settled.find((r) => r.status === 'rejected');
      if (!failed) return settled.map((r) => (r as PromiseFulfilledResult<ort.InferenceSession | null>).value) as [ort.InferenceSession, ort.InferenceSession, ort.InferenceSession | null];
      await Promise.all(settled.map((r) => (r.status === 'fulfilled' ? r.value?.release() : undefined)));
      throw failed.reason;
    };
    // A row lookup in the bf16 table (no bf16 kernels on WebGPU); its rows go to the decoder from JS anyway.
    const embedder = rows ? null : await createSession(embedG.toBytes(), { ...sess, device: 'cpu', label: `${dir} (embedding graph)` });
    let float16 = plan.float16;
    const openWithFallback = async () => {
      try {
        return await open(vision16 ?? visionG, decoder16 ?? decoderG);
      } catch (e) {
        // A float16 kernel the probe did not cover is missing: the float32 graphs, said once.
        if (!float16) throw e;
        sayFloat16Fallback(`webgpu: ${(e as Error).message}; fp16 runs the float32 kernels`, opts.warn);
        float16 = false;
        return open(visionG, decoderG);
      }
    };
    const [vision, decoder, prefillDecoder] = await openWithFallback().catch(async (e: unknown) => {
      rows?.close();
      await embedder?.release();
      throw e;
    });
    const model = new Model(dir, config, ckpt, vision, embedder, decoder, debugOutputs);
    model.prefillDecoder = prefillDecoder;
    model.prefillWeights = prefillDecoder ? opts.prefillWeights! : null;
    model.prefillWeightCache = prefillCache;
    model.float16Compute = float16;
    model.pastType = (float16 && cacheOutputs) || kvDtype === 'float16' ? 'float16' : 'float32';
    model.kvDtype = kvDtype;
    model.precision = precision;
    model.device = device;
    model.gpuCache = cacheOutputs !== null;
    model.decoderOutputs = cacheOutputs ? decoderG.listOutputs().map((o) => o.name) : null;
    model.weightCache = weightCache;
    model.embeddingRows = rows;
    return model;
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
    if (this.embeddingRows) return this.embeddingRows.lookup(ids);
    const out = await this.embedder!.run({ input_ids: new ort.Tensor('int64', big, [ids.length]) });
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
      [DECODER_INPUTS.cos]: new ort.Tensor('float32', cos, [1, S, d]),
      [DECODER_INPUTS.sin]: new ort.Tensor('float32', sin, [1, S, d]),
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
      feeds[pastKeyName(i)] = this.pastTensor(k, [1, KVH, C, d]);
      feeds[pastValueName(i)] = this.pastTensor(v, [1, KVH, C, d]);
    }
    // Additive mask of the past: 0 for the P valid rows, −inf for the rest of the capacity.
    feeds[DECODER_INPUTS.pastMask] = new ort.Tensor('float32', new Float32Array(C).fill(-Infinity, P), [1, C]);
    const names = [LOGITS_OUTPUT];
    for (let i = 0; i < L; i++) names.push(presentKeyName(i), presentValueName(i));
    if (this.debugOutputs) names.push(HIDDEN_STATES_OUTPUT);
    // Prefill chunks on the int8 copy where there is one (CPU only: no GPU-resident outputs to handle).
    const out = S > 1 && this.prefillDecoder ? ((await this.prefillDecoder.run(feeds, names)) as Record<string, ort.Tensor>) : await this.runDecoder(feeds, names);
    return {
      logits: out[LOGITS_OUTPUT]!.data as Float32Array,
      presentKeys: Array.from({ length: L }, (_, i) => out[presentKeyName(i)]!.data as KVArray),
      presentValues: Array.from({ length: L }, (_, i) => out[presentValueName(i)]!.data as KVArray),
      hiddenStates: this.debugOutputs ? (out[HIDDEN_STATES_OUTPUT]!.data as Float32Array) : undefined,
    };
  }

  /**
   * One decode step of B independent sequences in one decoder call (continuous batching): sequence b
   * feeds one new position after its `lengths[b]` cached rows of the batch past (batch-cache.ts).
   */
  async forwardBatch(args: BatchForwardArgs): Promise<BatchForwardResult> {
    const { hiddenSize: H, numLayers: L, numKvHeads: KVH, headDim: d } = this.config.llm;
    const B = args.lengths.length;
    const C = args.past.capacity;
    if (B < 1 || args.embeds.length !== B * H) fail(`batch inputs_embeds: expected [${B}, ${H}] floats, got ${args.embeds.length}`);
    const cos = new Float32Array(B * d);
    const sin = new Float32Array(B * d);
    const mask = new Float32Array(B * C);
    for (let b = 0; b < B; b++) {
      const P = args.lengths[b]!;
      if (!Number.isInteger(P) || P < 0 || P > C) fail(`batch past: sequence ${b} has length ${P}, capacity is ${C}`);
      // Per sequence as in the batch-1 step: its own position and the RoPE length it would see alone.
      const t = this.rope.tables(positionRange(P, 1), P + 1);
      cos.set(t.cos, b * d);
      sin.set(t.sin, b * d);
      mask.fill(-Infinity, b * C + P, (b + 1) * C);
    }
    const feeds: Record<string, ort.Tensor> = {
      [DECODER_INPUTS.embeds]: new ort.Tensor('float32', args.embeds, [B, 1, H]),
      [DECODER_INPUTS.cos]: new ort.Tensor('float32', cos, [B, 1, d]),
      [DECODER_INPUTS.sin]: new ort.Tensor('float32', sin, [B, 1, d]),
      [DECODER_INPUTS.logitsPositions]: new ort.Tensor('int64', new BigInt64Array(1), [1]),
      [DECODER_INPUTS.pastMask]: new ort.Tensor('float32', mask, [B, C]),
    };
    const n = B * KVH * C * d;
    for (let i = 0; i < L; i++) {
      const k = args.past.keys[i]!.subarray(0, n);
      const v = args.past.values[i]!.subarray(0, n);
      if (k.length !== n || v.length !== n) fail(`batch past of layer ${i}: expected [${B}, ${KVH}, ${C}, ${d}] = ${n} floats, got ${k.length}/${v.length}`);
      feeds[pastKeyName(i)] = this.pastTensor(k, [B, KVH, C, d]);
      feeds[pastValueName(i)] = this.pastTensor(v, [B, KVH, C, d]);
    }
    const names = [LOGITS_OUTPUT];
    for (let i = 0; i < L; i++) names.push(presentKeyName(i), presentValueName(i));
    const out = await this.runDecoder(feeds, names);
    return {
      logits: out[LOGITS_OUTPUT]!.data as Float32Array,
      presentKeys: Array.from({ length: L }, (_, i) => out[presentKeyName(i)]!.data as KVArray),
      presentValues: Array.from({ length: L }, (_, i) => out[presentValueName(i)]!.data as KVArray),
    };
  }

  /**
   * @internal One decoder call whose past is the previous call's GPU-resident cache (null: a fresh
   * sequence, fed the masked stand-in row, which stays masked at the front). Used by GpuKVDecoder.
   */
  async forwardGpuCache(embeds: Float32Array, past: GpuPast | null): Promise<{ logits: Float32Array; keys: ort.Tensor[]; values: ort.Tensor[]; rows: number }> {
    const { hiddenSize: H, numLayers: L, numKvHeads: KVH, headDim: d } = this.config.llm;
    const S = embeds.length / H;
    if (!Number.isInteger(S) || S < 1) fail(`inputs_embeds: length ${embeds.length} is not a positive multiple of hidden size ${H}`);
    const P = past?.rows ?? 1;
    const start = P - 1;
    const { cos, sin } = this.rope.tables(positionRange(start, S), start + S);
    const mask = new Float32Array(P);
    mask[0] = -Infinity; // the stand-in row
    const feeds: Record<string, ort.Tensor> = {
      [DECODER_INPUTS.embeds]: new ort.Tensor('float32', embeds, [1, S, H]),
      [DECODER_INPUTS.cos]: new ort.Tensor('float32', cos, [1, S, d]),
      [DECODER_INPUTS.sin]: new ort.Tensor('float32', sin, [1, S, d]),
      [DECODER_INPUTS.logitsPositions]: new ort.Tensor('int64', BigInt64Array.from([BigInt(S - 1)]), [1]),
      [DECODER_INPUTS.pastMask]: new ort.Tensor('float32', mask, [1, P]),
    };
    const standIn = past ? null : this.pastTensor(this.emptyPast, [1, KVH, 1, d]);
    for (let i = 0; i < L; i++) {
      feeds[pastKeyName(i)] = standIn ?? (past!.keys[i] as ort.Tensor);
      feeds[pastValueName(i)] = standIn ?? (past!.values[i] as ort.Tensor);
    }
    const names = [LOGITS_OUTPUT];
    for (let i = 0; i < L; i++) names.push(fullKeyName(i), fullValueName(i));
    const out = await this.runDecoder(feeds, names);
    return {
      logits: out[LOGITS_OUTPUT]!.data as Float32Array,
      keys: Array.from({ length: L }, (_, i) => out[fullKeyName(i)]!),
      values: Array.from({ length: L }, (_, i) => out[fullValueName(i)]!),
      rows: P + S,
    };
  }

  /**
   * A JS-held past as the decoder takes it: zero-copy in the decoder's element type, or float32
   * converted to float16 when the decoder's past is float16 but the buffer is not (the float16
   * GPU-resident cache; JS-buffer decoding on such a model pays one conversion of its cache per call).
   */
  private pastTensor(data: KVArray, dims: number[]): ort.Tensor {
    if (data instanceof Uint16Array) {
      if (this.pastType !== 'float16') fail(`past keys/values: this decoder takes float32, got a float16 buffer`);
      return new ort.Tensor('float16', data, dims);
    }
    return this.pastType === 'float16' ? new ort.Tensor('float16', f32ToF16(data), dims) : new ort.Tensor('float32', data, dims);
  }

  /** The decoder's output names in graph order when it has GPU-resident cache outputs (else null). */
  private decoderOutputs: string[] | null = null;

  /**
   * @internal One decoder call with caller-made feeds (GpuKVDecoder feeds GPU-resident past tensors).
   * With GPU-resident outputs, onnxruntime-node 1.30 matches output locations to the requested names
   * by position (a subset fails with "Output count mismatch"), so every output is requested in graph
   * order and the GPU tensors not asked for are freed at once.
   */
  async runDecoder(feeds: Record<string, ort.Tensor>, names: string[]): Promise<Record<string, ort.Tensor>> {
    if (!this.decoderOutputs) return (await this.decoder.run(feeds, names)) as Record<string, ort.Tensor>;
    const all = (await this.decoder.run(feeds, this.decoderOutputs)) as Record<string, ort.Tensor>;
    const wanted = new Set(names);
    for (const [k, t] of Object.entries(all)) {
      if (wanted.has(k)) continue;
      if (t.location === 'gpu-buffer') t.dispose(); // a GPU tensor nobody asked for: free it now
      delete all[k];
    }
    return all;
  }

  async release(): Promise<void> {
    this.embeddingRows?.close();
    await Promise.all([this.vision.release(), this.embedder?.release(), this.decoder.release(), this.prefillDecoder?.release()]);
  }
}
