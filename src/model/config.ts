/**
 * Typed, validated view of an InternVLChatConfig (`config.json` of the Mini-InternVL checkpoints).
 *
 * Missing keys get the defaults of the reference config classes (InternVLChatConfig,
 * InternVisionConfig, Qwen2Config, InternLM2Config, Phi3Config) — spec architecture.md §2, §3.1,
 * §8, §11. Keys that fix tensor shapes (hidden sizes, layer and head counts, vocab size) are
 * required: a default there would only produce a confusing shape mismatch later.
 */
import { host } from '../host/platform.ts';
import { fail } from '../errors.ts';
import { CONFIG_FILE, readConfigJson } from '../io/checkpoint.ts';

export type LlmFamily = 'qwen2' | 'internlm2' | 'phi3';

export const SUPPORTED_ARCHITECTURES: Readonly<Record<string, LlmFamily>> = {
  Qwen2ForCausalLM: 'qwen2',
  InternLM2ForCausalLM: 'internlm2',
  Phi3ForCausalLM: 'phi3',
};

export interface VisionConfig {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  headDim: number;
  intermediateSize: number;
  patchSize: number;
  /** vision_config.image_size: the size the position embedding was trained for. */
  imageSize: number;
  numChannels: number;
  layerNormEps: number;
  qkvBias: boolean;
  qkNormalization: boolean;
  normType: 'layer_norm' | 'rms_norm';
  hiddenAct: string;
}

export type RopeScaling =
  | { type: 'none' }
  /** InternLM2 dynamic NTK: the base grows once the sequence exceeds maxPositionEmbeddings. */
  | { type: 'dynamic'; factor: number }
  /** InternLM2 linear interpolation: positions divided by `factor`. */
  | { type: 'linear'; factor: number }
  /** Phi-3 su / longrope (same algorithm; `rawType` keeps the JSON name). */
  | {
      type: 'longrope';
      rawType: 'su' | 'longrope';
      shortFactor: number[];
      longFactor: number[];
      originalMaxPositionEmbeddings: number;
      /** Optional explicit attention factors (newer longrope configs); null → sqrt(1 + ln s / ln L0). */
      shortMscale: number | null;
      longMscale: number | null;
    };

export interface LlmConfig {
  family: LlmFamily;
  /** `llm_config.architectures[0]`. */
  architecture: string;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling;
  /** As written in the JSON. The current official code forces it false; see `inventory.ts`. */
  tieWordEmbeddings: boolean;
  bosTokenId: number | null;
  eosTokenId: number | number[] | null;
  padTokenId: number | null;
  hiddenAct: string;
  /** Bias on the q/k/v projection (Qwen2: always; InternLM2: `bias`; Phi-3: never). */
  qkvBias: boolean;
  /** Bias on the attention output projection (InternLM2: `bias`; others: never). */
  oBias: boolean;
  /** Phi-3 `sliding_window` (null when absent); inert for the released checkpoints. */
  slidingWindow: number | null;
  /** Qwen2 `use_sliding_window`; false elsewhere. */
  useSlidingWindow: boolean;
}

export interface ModelConfig {
  /** Where the config came from (used in messages). */
  source: string;
  template: string;
  downsampleRatio: number;
  psVersion: 'v1' | 'v2';
  selectLayer: number;
  forceImageSize: number | null;
  /** Effective tile size: force_image_size if set, else vision_config.image_size. */
  imageSize: number;
  /** LLM positions per tile: (imageSize / patchSize)² · downsampleRatio². */
  numImageToken: number;
  dynamicImageSize: boolean;
  useThumbnail: boolean;
  minDynamicPatch: number;
  maxDynamicPatch: number;
  pad2square: boolean;
  useBackboneLora: number;
  useLlmLora: number;
  vision: VisionConfig;
  llm: LlmConfig;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads typed keys of one JSON object, failing with the dotted key path on a wrong type. */
class Reader {
  constructor(
    private readonly obj: Obj,
    private readonly prefix: string,
    private readonly source: string,
  ) {}

  private key(k: string): string {
    return this.prefix ? `${this.prefix}.${k}` : k;
  }

  private present(k: string): boolean {
    return this.obj[k] !== undefined && this.obj[k] !== null;
  }

  private bad(k: string, want: string): never {
    fail(`${this.source}: "${this.key(k)}" must be ${want}, got ${JSON.stringify(this.obj[k])}`);
  }

  missing(k: string): never {
    fail(`${this.source}: missing required key "${this.key(k)}"`);
  }

  num(k: string, dflt?: number): number {
    if (!this.present(k)) return dflt ?? this.missing(k);
    const v = this.obj[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) this.bad(k, 'a number');
    return v;
  }

  posNum(k: string, dflt?: number): number {
    const v = this.num(k, dflt);
    if (!(v > 0)) this.bad(k, 'a positive number');
    return v;
  }

  int(k: string, dflt?: number): number {
    const v = this.num(k, dflt);
    if (!Number.isSafeInteger(v)) this.bad(k, 'an integer');
    return v;
  }

  posInt(k: string, dflt?: number): number {
    const v = this.int(k, dflt);
    if (v <= 0) this.bad(k, 'a positive integer');
    return v;
  }

  optInt(k: string): number | null {
    return this.present(k) ? this.int(k) : null;
  }

  /** Absent → default; explicit JSON null → null (e.g. Qwen2's `bos_token_id: null`). */
  nullableInt(k: string, dflt: number | null): number | null {
    if (this.obj[k] === undefined) return dflt;
    if (this.obj[k] === null) return null;
    return this.int(k);
  }

  bool(k: string, dflt: boolean): boolean {
    if (!this.present(k)) return dflt;
    const v = this.obj[k];
    // The reference configs use 0/1 for some flags (use_backbone_lora); Python truthiness applies.
    if (typeof v === 'boolean') return v;
    if (v === 0 || v === 1) return v === 1;
    this.bad(k, 'true or false');
  }

  str(k: string, dflt?: string): string {
    if (!this.present(k)) return dflt ?? this.missing(k);
    const v = this.obj[k];
    if (typeof v !== 'string') this.bad(k, 'a string');
    return v;
  }

  oneOf<T extends string>(k: string, allowed: readonly T[], dflt: T): T {
    const v = this.str(k, dflt);
    if (!(allowed as readonly string[]).includes(v)) this.bad(k, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    return v as T;
  }

  numArray(k: string): number[] {
    const v = this.obj[k];
    if (!this.present(k)) this.missing(k);
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) this.bad(k, 'an array of numbers');
    return v as number[];
  }

  /** int or int[] (eos_token_id may be a list); absent → default, explicit JSON null → null. */
  intOrInts(k: string, dflt: number | number[] | null): number | number[] | null {
    const v = this.obj[k];
    if (v === undefined) return dflt;
    if (v === null) return null;
    if (Number.isSafeInteger(v)) return v as number;
    if (Array.isArray(v) && v.length > 0 && v.every((x) => Number.isSafeInteger(x))) return v as number[];
    this.bad(k, 'an integer or a list of integers');
  }

  sub(k: string): Reader {
    const v = this.obj[k];
    if (!this.present(k)) this.missing(k);
    if (!isObj(v)) this.bad(k, 'an object');
    return new Reader(v, this.key(k), this.source);
  }

  raw(k: string): unknown {
    return this.obj[k];
  }

  has(k: string): boolean {
    return this.present(k);
  }
}

function parseVision(r: Reader, source: string): VisionConfig {
  const hiddenSize = r.posInt('hidden_size');
  const numHeads = r.posInt('num_attention_heads');
  if (hiddenSize % numHeads !== 0) {
    fail(`${source}: "vision_config.hidden_size" ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
  }
  const patchSize = r.posInt('patch_size');
  const imageSize = r.posInt('image_size');
  if (imageSize % patchSize !== 0) {
    fail(`${source}: "vision_config.image_size" ${imageSize} is not a multiple of patch_size ${patchSize}`);
  }
  return {
    hiddenSize,
    numLayers: r.posInt('num_hidden_layers'),
    numHeads,
    headDim: hiddenSize / numHeads,
    intermediateSize: r.posInt('intermediate_size'),
    patchSize,
    imageSize,
    // InternVisionConfig defaults.
    numChannels: r.posInt('num_channels', 3),
    layerNormEps: r.posNum('layer_norm_eps', 1e-6),
    qkvBias: r.bool('qkv_bias', false),
    qkNormalization: r.bool('qk_normalization', true),
    normType: r.oneOf('norm_type', ['layer_norm', 'rms_norm'] as const, 'rms_norm'),
    hiddenAct: r.str('hidden_act', 'gelu'),
  };
}

function parseRopeScaling(r: Reader, family: LlmFamily, headDim: number, source: string): RopeScaling {
  if (!r.has('rope_scaling')) return { type: 'none' };
  const s = r.sub('rope_scaling');
  // Older configs spell it `type`, newer ones `rope_type` (often both, equal).
  const type = s.has('type') ? s.str('type') : s.str('rope_type');
  const where = `"llm_config.rope_scaling.type"`;
  if (family === 'internlm2' && (type === 'dynamic' || type === 'linear')) {
    const factor = s.num('factor');
    if (factor < 1) fail(`${source}: "llm_config.rope_scaling.factor" must be ≥ 1, got ${factor}`);
    return { type, factor };
  }
  if (family === 'phi3' && (type === 'su' || type === 'longrope')) {
    const shortFactor = s.numArray('short_factor');
    const longFactor = s.numArray('long_factor');
    for (const [k, a] of [['short_factor', shortFactor], ['long_factor', longFactor]] as const) {
      if (a.length !== headDim / 2) {
        fail(`${source}: "llm_config.rope_scaling.${k}" has ${a.length} values, expected head_dim/2 = ${headDim / 2}`);
      }
    }
    return {
      type: 'longrope',
      rawType: type,
      shortFactor,
      longFactor,
      // Phi3Config default; the released checkpoints set 4096, the tiny golden model 256.
      originalMaxPositionEmbeddings: r.posInt('original_max_position_embeddings', 4096),
      shortMscale: s.has('short_mscale') ? s.num('short_mscale') : null,
      longMscale: s.has('long_mscale') ? s.num('long_mscale') : null,
    };
  }
  const supported = { qwen2: 'none', internlm2: '"dynamic", "linear"', phi3: '"su", "longrope"' }[family];
  return fail(`${source}: ${where} ${JSON.stringify(type)} is not supported for ${family} (supported: ${supported})`);
}

function parseLlm(r: Reader, source: string): LlmConfig {
  const archs = r.raw('architectures');
  if (!Array.isArray(archs) || archs.length === 0 || typeof archs[0] !== 'string') {
    fail(`${source}: "llm_config.architectures" must be a non-empty list of strings, got ${JSON.stringify(archs)}`);
  }
  const architecture = archs[0] as string;
  const family = SUPPORTED_ARCHITECTURES[architecture];
  if (!family) {
    fail(
      `${source}: unsupported LLM architecture "llm_config.architectures[0]" = ${JSON.stringify(architecture)} (supported: ${Object.keys(SUPPORTED_ARCHITECTURES).join(', ')})`,
    );
  }
  const hiddenSize = r.posInt('hidden_size');
  const numHeads = r.posInt('num_attention_heads');
  // All three config classes: num_key_value_heads None → num_attention_heads.
  const numKvHeads = r.posInt('num_key_value_heads', numHeads);
  if (hiddenSize % numHeads !== 0) {
    fail(`${source}: "llm_config.hidden_size" ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
  }
  if (numHeads % numKvHeads !== 0) {
    fail(`${source}: "llm_config.num_attention_heads" ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  }
  const headDim = hiddenSize / numHeads;
  if (r.has('head_dim') && r.int('head_dim') !== headDim) {
    fail(`${source}: "llm_config.head_dim" ${r.int('head_dim')} differs from hidden_size/num_attention_heads = ${headDim} (unsupported)`);
  }
  if (headDim % 2 !== 0) fail(`${source}: LLM head dim ${headDim} is odd; rotary embeddings need an even one`);

  // Per-family defaults of the reference config classes.
  const d = {
    qwen2: { maxPos: 32768, eps: 1e-6, theta: 10000, bos: null, eos: null, pad: null },
    internlm2: { maxPos: 2048, eps: 1e-6, theta: 10000, bos: 1, eos: 2, pad: 0 },
    phi3: { maxPos: 4096, eps: 1e-5, theta: 10000, bos: 1, eos: 32000, pad: 32000 },
  }[family];
  const internlmBias = family === 'internlm2' ? r.bool('bias', true) : false;
  return {
    family,
    architecture,
    hiddenSize,
    numLayers: r.posInt('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: r.posInt('intermediate_size'),
    vocabSize: r.posInt('vocab_size'),
    maxPositionEmbeddings: r.posInt('max_position_embeddings', d.maxPos),
    rmsNormEps: r.posNum('rms_norm_eps', d.eps),
    ropeTheta: r.posNum('rope_theta', d.theta),
    ropeScaling: parseRopeScaling(r, family, headDim, source),
    tieWordEmbeddings: r.bool('tie_word_embeddings', false),
    bosTokenId: r.nullableInt('bos_token_id', d.bos),
    eosTokenId: r.intOrInts('eos_token_id', d.eos),
    padTokenId: r.nullableInt('pad_token_id', d.pad),
    hiddenAct: r.str('hidden_act', 'silu'),
    qkvBias: family === 'qwen2' ? true : internlmBias,
    oBias: internlmBias,
    slidingWindow: family === 'phi3' || family === 'qwen2' ? r.optInt('sliding_window') : null,
    useSlidingWindow: family === 'qwen2' ? r.bool('use_sliding_window', false) : false,
  };
}

/**
 * The checkpoint must be an InternVL chat model: `architectures[0]` and `model_type`, where present, name it.
 * (Absent keys are tolerated — hand-written configs often omit them — but a different model is refused.)
 */
function checkTopLevelArchitecture(r: Reader, source: string): void {
  if (r.has('architectures')) {
    const archs = r.raw('architectures');
    const first = Array.isArray(archs) ? archs[0] : undefined;
    if (first !== 'InternVLChatModel') {
      fail(`${source}: unsupported architecture "architectures[0]" = ${JSON.stringify(first ?? archs)} (supported: InternVLChatModel)`);
    }
  }
  if (r.has('model_type') && r.raw('model_type') !== 'internvl_chat') {
    fail(`${source}: unsupported "model_type" ${JSON.stringify(r.raw('model_type'))} (supported: internvl_chat)`);
  }
}

/**
 * Validates an InternVLChatConfig JSON value. `source` names the file in error messages
 * (e.g. `/models/InternVL2-1B/config.json`).
 */
export function parseModelConfig(json: unknown, source: string): ModelConfig {
  if (!isObj(json)) fail(`${source}: config must be a JSON object`);
  const r = new Reader(json, '', source);
  checkTopLevelArchitecture(r, source);
  const vision = parseVision(r.sub('vision_config'), source);
  const llm = parseLlm(r.sub('llm_config'), source);

  const downsampleRatio = r.posNum('downsample_ratio', 0.5);
  const forceImageSize = r.has('force_image_size') ? r.posInt('force_image_size') : null;
  const imageSize = forceImageSize ?? vision.imageSize;
  if (imageSize % vision.patchSize !== 0) {
    fail(`${source}: "force_image_size" ${imageSize} is not a multiple of vision_config.patch_size ${vision.patchSize}`);
  }
  const grid = imageSize / vision.patchSize;
  // Pixel shuffle needs the patch grid to divide evenly by 1/ratio (32 × 0.5 = 16 here).
  const outGrid = grid * downsampleRatio;
  const scale = 1 / downsampleRatio;
  if (!Number.isInteger(outGrid) || !Number.isInteger(scale)) {
    fail(`${source}: "downsample_ratio" ${downsampleRatio} does not divide the ${grid}×${grid} patch grid into whole tokens`);
  }
  // Reference: int((image_size // patch_size) ** 2 * (downsample_ratio ** 2)).
  const numImageToken = Math.trunc(grid * grid * downsampleRatio * downsampleRatio);

  const selectLayer = r.int('select_layer', -1);
  if (selectLayer < -(vision.numLayers + 1) || selectLayer > vision.numLayers) {
    fail(`${source}: "select_layer" ${selectLayer} is outside the vision encoder's ${vision.numLayers + 1} hidden states`);
  }
  const minDynamicPatch = r.posInt('min_dynamic_patch', 1);
  const maxDynamicPatch = r.posInt('max_dynamic_patch', 6);
  if (maxDynamicPatch < minDynamicPatch) {
    fail(`${source}: "max_dynamic_patch" ${maxDynamicPatch} is smaller than min_dynamic_patch ${minDynamicPatch}`);
  }
  return {
    source,
    template: r.str('template'),
    downsampleRatio,
    psVersion: r.oneOf('ps_version', ['v1', 'v2'] as const, 'v1'),
    selectLayer,
    forceImageSize,
    imageSize,
    numImageToken,
    dynamicImageSize: r.bool('dynamic_image_size', false),
    useThumbnail: r.bool('use_thumbnail', false),
    minDynamicPatch,
    maxDynamicPatch,
    pad2square: r.bool('pad2square', false),
    useBackboneLora: r.int('use_backbone_lora', 0),
    useLlmLora: r.int('use_llm_lora', 0),
    vision,
    llm,
  };
}

/** Reads and validates `dir/config.json`. */
export async function loadModelConfig(dir: string): Promise<ModelConfig> {
  return parseModelConfig((await readConfigJson(dir)).json, host.path.join(dir, CONFIG_FILE));
}
