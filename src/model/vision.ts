/**
 * InternViT + select_layer + pixel shuffle + mlp1 as one ONNX graph (architecture.md §3–§5):
 * `pixel_values` [T, 3, S, S] → `vit_embeds` [T, numImageToken, D_llm].
 */
import { GraphBuilder, type Value } from '../graph/builder.ts';
import { fail } from '../errors.ts';
import type { ModelConfig } from './config.ts';
import { GraphWeights, type WeightSource } from './weights.ts';

export const VISION_INPUT = 'pixel_values';
export const VISION_OUTPUT = 'vit_embeds';
/** Debug output: the selected InternViT hidden state, class token first [T, 1 + grid², D_vit]. */
export const VISION_HIDDEN_OUTPUT = 'vision_last_hidden_state';

export interface VisionGraphOptions {
  /** Also output `vision_last_hidden_state`. */
  debugOutputs?: boolean;
  /**
   * Position embedding already resized to the model's patch grid ([1, 1 + grid², D] float32), used
   * when the tile size differs from the size the embedding was trained for (see posembed.ts).
   */
  resizedPositionEmbedding?: Float32Array;
  /**
   * Attention form: `fused` = com.microsoft MultiHeadAttention (default; exact and fastest on the CPU
   * provider), `unfused` = MatMul → Softmax → MatMul, for providers whose fused kernel is not exact
   * (see VisionAttention).
   */
  attention?: VisionAttention;
  /**
   * Training only (drop path, training.md §8.1): a per-tile factor [T, 1, 1] for a residual branch of
   * layer `layer`, multiplied onto the layer-scaled branch; none (the default, and inference) leaves
   * the graph exactly as without the hook.
   */
  residualBranchScale?: (g: GraphBuilder, layer: number, branch: ResidualBranch) => Value | undefined;
}

export type ResidualBranch = 'attn' | 'mlp';

/**
 * Measured on the golden models against the float64 reference (rel-L2 of one attention's output):
 * MultiHeadAttention on the CPU provider 6e-7; on the WebGPU provider (Dawn on Mesa lavapipe,
 * onnxruntime-node 1.30) 1.2e-2..2.4e-2, far outside the 1e-4 golden tolerance; the unfused form on
 * WebGPU 6e-7 (vit_embeds 3.9e-7..4.0e-7 end to end). Hence the WebGPU graph uses `unfused`.
 */
export type VisionAttention = 'fused' | 'unfused';

const V = 'vision_model.';

export function buildVisionGraph(cfg: ModelConfig, src: WeightSource, opts: VisionGraphOptions = {}): GraphBuilder {
  const vc = cfg.vision;
  if (vc.normType !== 'layer_norm') fail(`${cfg.source}: vision norm_type "${vc.normType}" is not supported (InternViT-300M uses layer_norm)`);
  if (vc.qkNormalization) fail(`${cfg.source}: vision qk_normalization is not supported (InternViT-300M has none)`);
  if (vc.hiddenAct !== 'gelu') fail(`${cfg.source}: vision hidden_act "${vc.hiddenAct}" is not supported (expected gelu)`);

  const g = new GraphBuilder('minivl_vision');
  const w = new GraphWeights(g, src);
  const D = vc.hiddenSize;
  const size = cfg.imageSize;
  const grid = size / vc.patchSize;
  const nTok = grid * grid;
  const storedGrid = vc.imageSize / vc.patchSize;

  const x = g.input(VISION_INPUT, 'float32', ['T', vc.numChannels, size, size]);

  // Patch embedding: Conv k=stride=patch → [T, D, grid, grid] → [T, grid², D] (row-major patches).
  const pw = w.get(`${V}embeddings.patch_embedding.weight`, [D, vc.numChannels, vc.patchSize, vc.patchSize]);
  const pb = w.get(`${V}embeddings.patch_embedding.bias`, [D]);
  let h = g.op1('Conv', [x, pw, pb], { kernel_shape: [vc.patchSize, vc.patchSize], strides: [vc.patchSize, vc.patchSize] });
  h = g.transpose(g.reshape(h, [0, D, nTok]), [0, 2, 1]);

  // Class token [1,1,D] expanded to [T,1,D] and prepended.
  const cls = w.get(`${V}embeddings.class_embedding`, [1, 1, D]);
  const tShape = g.shape(x, 0, 1); // [T]
  const clsShape = g.concat([tShape, g.constI64([1, D])], 0);
  h = g.concat([g.op1('Expand', [cls, clsShape]), h], 1);

  // Position embedding [1, 1 + grid², D] (resized outside the graph when the grid differs).
  const posName = `${V}embeddings.position_embedding`;
  let pos: Value;
  if (grid === storedGrid) {
    pos = w.get(posName, [1, 1 + nTok, D]);
  } else {
    if (!opts.resizedPositionEmbedding) fail(`${cfg.source}: tile size ${size} needs the position embedding resized from ${storedGrid}×${storedGrid} to ${grid}×${grid}`);
    w.raw(posName, [1, 1 + storedGrid * storedGrid, D]); // shape check only
    pos = w.setFloat32(`${posName}.resized`, opts.resizedPositionEmbedding, [1, 1 + nTok, D]);
  }
  h = g.add(h, pos);

  // select_layer indexes hidden_states = [embeddings, block 1 out, ..., block N out].
  const nStates = vc.numLayers + 1;
  const sel = cfg.selectLayer < 0 ? nStates + cfg.selectLayer : cfg.selectLayer;
  for (let i = 0; i < sel; i++) h = visionBlock(g, w, cfg, i, h, opts.attention ?? 'fused', opts.residualBranchScale);
  if (opts.debugOutputs) g.output(h, VISION_HIDDEN_OUTPUT, 'float32', ['T', 1 + nTok, D]);

  // Drop the class token, then pixel shuffle (§4) and mlp1 (§5).
  h = g.slice(h, [1], [1 + nTok], [1]);
  const ps = pixelShuffle(g, h, grid, D, cfg.downsampleRatio, cfg.psVersion);
  const Dllm = cfg.llm.hiddenSize;
  const Din = ps.channels;
  let y = g.layerNorm(ps.value, w.get('mlp1.0.weight', [Din]), w.get('mlp1.0.bias', [Din]), 1e-5);
  y = w.linear(y, 'mlp1.1.weight', [Dllm, Din], 'mlp1.1.bias', 'normed');
  y = g.gelu(y);
  y = w.linear(y, 'mlp1.3.weight', [Dllm, Dllm], 'mlp1.3.bias');
  g.output(y, VISION_OUTPUT, 'float32', ['T', ps.tokens, Dllm]);
  return g;
}

function visionBlock(g: GraphBuilder, w: GraphWeights, cfg: ModelConfig, i: number, x: Value, form: VisionAttention, branchScale?: VisionGraphOptions['residualBranchScale']): Value {
  const branch = (b: Value, which: ResidualBranch) => {
    const s = branchScale?.(g, i, which);
    return s ? g.mul(b, s) : b;
  };
  const vc = cfg.vision;
  const D = vc.hiddenSize;
  const p = `${V}encoder.layers.${i}.`;
  const eps = vc.layerNormEps;
  let h = g.layerNorm(x, w.get(`${p}norm1.weight`, [D]), w.get(`${p}norm1.bias`, [D]), eps);
  const qkv = w.linear(h, `${p}attn.qkv.weight`, [3 * D, D], vc.qkvBias ? `${p}attn.qkv.bias` : null, 'normed');
  const [q, k, v] = g.split(qkv, [D, D, D], -1);
  // Bidirectional attention, scale head_dim^-0.5 (the contrib op's default).
  const o = form === 'fused'
    ? g.op1('MultiHeadAttention', [q!, k!, v!], { num_heads: vc.numHeads }, 'com.microsoft')
    : unfusedAttention(g, q!, k!, v!, vc.numHeads, D / vc.numHeads);
  const a = w.linear(o, `${p}attn.proj.weight`, [D, D], `${p}attn.proj.bias`);
  x = g.add(x, branch(g.mul(a, w.get(`${p}ls1`, [D])), 'attn'));
  h = g.layerNorm(x, w.get(`${p}norm2.weight`, [D]), w.get(`${p}norm2.bias`, [D]), eps);
  h = w.linear(h, `${p}mlp.fc1.weight`, [vc.intermediateSize, D], `${p}mlp.fc1.bias`, 'normed');
  h = g.gelu(h);
  h = w.linear(h, `${p}mlp.fc2.weight`, [D, vc.intermediateSize], `${p}mlp.fc2.bias`);
  return g.add(x, branch(g.mul(h, w.get(`${p}ls2`, [D])), 'mlp'));
}

/** softmax(q·kᵀ / √d)·v per head on [T, N, heads·d] → [T, N, heads·d]. */
function unfusedAttention(g: GraphBuilder, q: Value, k: Value, v: Value, heads: number, d: number): Value {
  const split = (t: Value, perm: number[]) => g.transpose(g.reshape(t, [0, 0, heads, d]), perm);
  const qh = split(q, [0, 2, 1, 3]); // [T, heads, N, d]
  const kt = split(k, [0, 2, 3, 1]); // [T, heads, d, N]
  const vh = split(v, [0, 2, 1, 3]);
  const scores = g.mul(g.matMul(qh, kt), g.constF32([1 / Math.sqrt(d)], []));
  const o = g.matMul(g.softmax(scores, -1), vh); // [T, heads, N, d]
  return g.reshape(g.transpose(o, [0, 2, 1, 3]), [0, 0, heads * d]);
}

/**
 * The reference's pixel_shuffle on [T, grid², C] viewed as [T, rows, cols, C] (architecture.md §4):
 * reshape [T, rows, cols·r, C/r], swap 1↔2, reshape [T, cols·r, rows·r, C/r²], v2 swaps 1↔2 again.
 */
export function pixelShuffle(g: GraphBuilder, x: Value, grid: number, C: number, ratio: number, version: 'v1' | 'v2') {
  const a = grid * ratio; // 16 for 32 × 0.5
  const c1 = Math.round(C / ratio);
  const c2 = Math.round(C / (ratio * ratio));
  let h = g.reshape(x, [0, grid, a, c1]);
  h = g.transpose(h, [0, 2, 1, 3]);
  h = g.reshape(h, [0, a, a, c2]);
  if (version === 'v2') h = g.transpose(h, [0, 2, 1, 3]);
  return { value: g.reshape(h, [0, a * a, c2]), tokens: a * a, channels: c2 };
}
