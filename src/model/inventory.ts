/**
 * The complete tensor inventory of an InternVL checkpoint (spec architecture.md §10), derived from the
 * config, and a validator that checks a checkpoint against it before any graph is built.
 */
import { fail } from '../errors.ts';
import { host } from '../host/platform.ts';
import { CONFIG_FILE, openCheckpoint, type Checkpoint } from '../io/checkpoint.ts';
import { FLOAT_DTYPES, numel } from '../io/safetensors.ts';
import { parseModelConfig, type LlmConfig, type ModelConfig, type VisionConfig } from './config.ts';
import { familySpec } from './families.ts';

export interface ExpectedTensor {
  name: string;
  shape: number[];
  /**
   * Set on the LLM output matrix when the config ties it to the input embedding: a checkpoint may
   * then omit it and the embedding is used instead (the released 1B stores both; see
   * `outputWeightName`).
   */
  tiedTo?: string;
}

const V = 'vision_model';

function visionTensors(v: VisionConfig): ExpectedTensor[] {
  const H = v.hiddenSize;
  const I = v.intermediateSize;
  const grid = v.imageSize / v.patchSize;
  const out: ExpectedTensor[] = [
    { name: `${V}.embeddings.class_embedding`, shape: [1, 1, H] },
    { name: `${V}.embeddings.patch_embedding.weight`, shape: [H, v.numChannels, v.patchSize, v.patchSize] },
    { name: `${V}.embeddings.patch_embedding.bias`, shape: [H] },
    { name: `${V}.embeddings.position_embedding`, shape: [1, grid * grid + 1, H] },
  ];
  const norm = (p: string) =>
    v.normType === 'layer_norm'
      ? [{ name: `${p}.weight`, shape: [H] }, { name: `${p}.bias`, shape: [H] }]
      : [{ name: `${p}.weight`, shape: [H] }]; // InternRMSNorm: weight only
  for (let i = 0; i < v.numLayers; i++) {
    const p = `${V}.encoder.layers.${i}`;
    out.push(...norm(`${p}.norm1`));
    out.push({ name: `${p}.attn.qkv.weight`, shape: [3 * H, H] });
    if (v.qkvBias) out.push({ name: `${p}.attn.qkv.bias`, shape: [3 * H] });
    if (v.qkNormalization) {
      out.push({ name: `${p}.attn.q_norm.weight`, shape: [H] }, { name: `${p}.attn.k_norm.weight`, shape: [H] });
    }
    out.push(
      { name: `${p}.attn.proj.weight`, shape: [H, H] },
      { name: `${p}.attn.proj.bias`, shape: [H] },
      { name: `${p}.ls1`, shape: [H] },
    );
    out.push(...norm(`${p}.norm2`));
    out.push(
      { name: `${p}.mlp.fc1.weight`, shape: [I, H] },
      { name: `${p}.mlp.fc1.bias`, shape: [I] },
      { name: `${p}.mlp.fc2.weight`, shape: [H, I] },
      { name: `${p}.mlp.fc2.bias`, shape: [H] },
      { name: `${p}.ls2`, shape: [H] },
    );
  }
  return out;
}

/** Projector input width: ViT width × (1/downsample_ratio)² (pixel shuffle folds 2×2 patches). */
function projectorInputSize(cfg: ModelConfig): number {
  const s = Math.round(1 / cfg.downsampleRatio);
  return cfg.vision.hiddenSize * s * s;
}

function projectorTensors(cfg: ModelConfig): ExpectedTensor[] {
  const In = projectorInputSize(cfg);
  const D = cfg.llm.hiddenSize;
  return [
    { name: 'mlp1.0.weight', shape: [In] },
    { name: 'mlp1.0.bias', shape: [In] },
    { name: 'mlp1.1.weight', shape: [D, In] },
    { name: 'mlp1.1.bias', shape: [D] },
    { name: 'mlp1.3.weight', shape: [D, D] },
    { name: 'mlp1.3.bias', shape: [D] },
  ];
}

/** Name of the input embedding matrix `[vocab, hidden]`. */
export function embedTokensName(llm: LlmConfig): string {
  return familySpec(llm).embed;
}

/** Name of the stored output matrix `[vocab, hidden]` (may be absent when tied, see `outputWeightName`). */
export function lmHeadName(llm: LlmConfig): string {
  return familySpec(llm).lmHead;
}

/** The LLM's tensors, named by the family description the decoder graph is built from (families.ts). */
function llmTensors(llm: LlmConfig): ExpectedTensor[] {
  const H = llm.hiddenSize;
  const I = llm.intermediateSize;
  const q = llm.numHeads * llm.headDim;
  const kv = llm.numKvHeads * llm.headDim;
  const spec = familySpec(llm);
  const linear = (name: string, rows: number, cols: number, bias: boolean): ExpectedTensor[] => [
    { name: `${name}.weight`, shape: [rows, cols] },
    ...(bias ? [{ name: `${name}.bias`, shape: [rows] }] : []),
  ];
  const out: ExpectedTensor[] = [{ name: spec.embed, shape: [llm.vocabSize, H] }];
  for (let i = 0; i < llm.numLayers; i++) {
    const l = spec.layer(i);
    out.push({ name: l.attnNorm, shape: [H] });
    if (l.qkv.kind === 'separate') {
      out.push(...linear(l.qkv.q, q, H, l.qkv.bias), ...linear(l.qkv.k, kv, H, l.qkv.bias), ...linear(l.qkv.v, kv, H, l.qkv.bias));
    } else {
      out.push(...linear(l.qkv.w, q + 2 * kv, H, l.qkv.bias));
    }
    out.push(...linear(l.o, H, q, l.oBias), { name: l.mlpNorm, shape: [H] });
    if (l.mlp.kind === 'separate') {
      out.push(...linear(l.mlp.gate, I, H, false), ...linear(l.mlp.up, I, H, false));
    } else {
      out.push(...linear(l.mlp.gateUp, 2 * I, H, false));
    }
    out.push(...linear(l.mlp.down, H, I, false));
  }
  out.push({ name: spec.finalNorm, shape: [H] });
  const head: ExpectedTensor = { name: spec.lmHead, shape: [llm.vocabSize, H] };
  if (llm.tieWordEmbeddings) head.tiedTo = spec.embed;
  out.push(head);
  return out;
}

/**
 * Every tensor of a checkpoint with this config, in the order vision, projector, LLM. The LLM output
 * matrix is always listed: the released checkpoints store it even where the JSON says
 * `tie_word_embeddings: true` (InternVL2-1B), and the official code forces untied weights.
 */
export function expectedTensors(cfg: ModelConfig): ExpectedTensor[] {
  return [...visionTensors(cfg.vision), ...projectorTensors(cfg), ...llmTensors(cfg.llm)];
}

export interface ParameterCounts {
  vision: number;
  projector: number;
  llm: number;
  total: number;
  tensors: number;
}

/** Parameter counts of the stored tensors (spec §10.6 totals for the released checkpoints). */
export function parameterCount(cfg: ModelConfig): ParameterCounts {
  const sum = (ts: ExpectedTensor[]) => ts.reduce((a, t) => a + numel(t.shape), 0);
  const v = visionTensors(cfg.vision);
  const p = projectorTensors(cfg);
  const l = llmTensors(cfg.llm);
  const vision = sum(v);
  const projector = sum(p);
  const llm = sum(l);
  return { vision, projector, llm, total: vision + projector + llm, tensors: v.length + p.length + l.length };
}

export interface CheckpointReport {
  /** Tensors in the checkpoint that the inventory does not know (ignored; callers may warn). */
  unexpected: string[];
  /** True when the output matrix is missing and the tied input embedding stands in for it. */
  lmHeadFromEmbedding: boolean;
}

function shapeStr(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

/**
 * Checks that every expected tensor exists with the expected shape and a float dtype. Throws a
 * one-line error naming the file, the tensor and expected vs actual shape.
 */
export function validateCheckpoint(ckpt: Checkpoint, cfg: ModelConfig): CheckpointReport {
  const expected = expectedTensors(cfg);
  const where = ckpt.indexFile ?? ckpt.files[0]?.label ?? ckpt.dir;
  // A training checkpoint saved with LoRA wrappers stores PEFT names (training.md §10); say so
  // instead of reporting the first plain name as missing.
  const lora = ckpt.names().find((n) => /\.lora_[AB]\.|\.base_layer\.|\.base_model\.model\./.test(n));
  if (lora) {
    fail(
      `${where}: holds unmerged LoRA weights (e.g. '${lora}'; use_llm_lora ${cfg.useLlmLora}, use_backbone_lora ${cfg.useBackboneLora}): merge the adapters into the base weights first`,
    );
  }
  let lmHeadFromEmbedding = false;
  for (const e of expected) {
    if (!ckpt.has(e.name)) {
      if (e.tiedTo && ckpt.has(e.tiedTo)) {
        lmHeadFromEmbedding = true;
        continue;
      }
      fail(`${where}: missing tensor '${e.name}' (expected shape ${shapeStr(e.shape)} for ${cfg.llm.architecture}, from ${cfg.source})`);
    }
    const t = ckpt.tensor(e.name);
    const label = ckpt.fileOf(e.name).label;
    if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
      fail(`${label}: tensor '${e.name}' has shape ${shapeStr(t.shape)}, expected ${shapeStr(e.shape)} (from ${cfg.source})`);
    }
    if (!FLOAT_DTYPES.has(t.dtype)) {
      fail(`${label}: tensor '${e.name}' has dtype ${t.dtype}, expected a float dtype (BF16, F16, F32 or F64)`);
    }
  }
  const known = new Set(expected.map((e) => e.name));
  const unexpected = ckpt.names().filter((n) => !known.has(n));
  return { unexpected, lmHeadFromEmbedding };
}

/**
 * The tensor to use as the LLM output matrix: the stored head, or the input embedding when the
 * config ties them and the head is absent. (Where both exist they are used separately, as the
 * official code does; the spec asks to compare them for the 1B and log a difference.)
 */
export function outputWeightName(ckpt: Checkpoint, cfg: ModelConfig): string {
  const head = lmHeadName(cfg.llm);
  if (ckpt.has(head)) return head;
  if (cfg.llm.tieWordEmbeddings) return embedTokensName(cfg.llm);
  return fail(`${ckpt.dir}: checkpoint has no tensor '${head}' and tie_word_embeddings is false`);
}

/** Opens a checkpoint folder, parses its config and validates the tensor inventory, in one call. */
export async function openModelCheckpoint(dir: string): Promise<{ ckpt: Checkpoint; cfg: ModelConfig; report: CheckpointReport }> {
  const ckpt = await openCheckpoint(dir);
  const cfg = parseModelConfig(ckpt.configJson, host.path.join(dir, CONFIG_FILE));
  const report = validateCheckpoint(ckpt, cfg);
  return { ckpt, cfg, report };
}

/**
 * Spec checkpoints.md §4.5: whether the stored output matrix differs from the input embedding
 * (the 1B JSON says tied, yet both are stored and used separately). Compares the raw bytes in
 * 16 MiB chunks so two 270 MB matrices never sit in memory at once. null when either is absent
 * or their shapes/dtypes differ.
 */
export async function outputDiffersFromEmbedding(ckpt: Checkpoint, cfg: ModelConfig): Promise<boolean | null> {
  const a = embedTokensName(cfg.llm);
  const b = lmHeadName(cfg.llm);
  if (!ckpt.has(a) || !ckpt.has(b)) return null;
  const ta = ckpt.tensor(a);
  const tb = ckpt.tensor(b);
  if (ta.dtype !== tb.dtype || ta.byteLength !== tb.byteLength) return null;
  const CHUNK = 16 << 20;
  for (let pos = 0; pos < ta.byteLength; pos += CHUNK) {
    const n = Math.min(CHUNK, ta.byteLength - pos);
    const [x, y] = await Promise.all([ckpt.readBytesRange(a, pos, n), ckpt.readBytesRange(b, pos, n)]);
    if (!Buffer.from(x.buffer, x.byteOffset, n).equals(Buffer.from(y.buffer, y.byteOffset, n))) return true;
  }
  return false;
}
