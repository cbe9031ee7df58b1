/**
 * Drop path (stochastic depth) of InternViT in the training graph (training.md §8.1): layer l of N
 * drops its attention and MLP residual branches with rate linspace(0, R, N)[l], per tile and
 * independently. The graph takes one mask input [T, 1, 1] per branch of every layer whose rate is
 * above 0 (values 0 or 1/(1−p), drawn outside: adapt/train/drop-path.ts), multiplied onto the
 * layer-scaled branch through the vision builder's `residualBranchScale` hook, so inference graphs
 * stay exactly as they are.
 */
import type { GraphBuilder, Value } from '../graph/builder.ts';
import type { ResidualBranch, VisionGraphOptions } from './vision.ts';

export interface DropPathInput {
  /** Graph input name, e.g. `drop_path.vision_model.encoder.layers.3.attn`. */
  name: string;
  layer: number;
  branch: ResidualBranch;
  /** Drop probability of this branch. */
  rate: number;
}

export const dropPathInputName = (layer: number, branch: ResidualBranch): string => `drop_path.vision_model.encoder.layers.${layer}.${branch}`;

/** torch.linspace(0, rate, layers) as the reference's InternVisionEncoder computes its per-layer rates. */
export function dropPathRates(rate: number, layers: number): number[] {
  return Array.from({ length: layers }, (_, l) => (layers === 1 ? 0 : (rate * l) / (layers - 1)));
}

/**
 * The vision builder hook: declares a [T, 1, 1] mask input (in the graph being built) per branch of
 * every layer with a rate above 0 and records it in `inputs`.
 */
export function dropPathHook(rate: number, layers: number, inputs: DropPathInput[]): NonNullable<VisionGraphOptions['residualBranchScale']> {
  const rates = dropPathRates(rate, layers);
  return (g: GraphBuilder, layer: number, branch: ResidualBranch): Value | undefined => {
    const p = rates[layer] ?? 0;
    if (!(p > 0)) return undefined;
    const name = dropPathInputName(layer, branch);
    inputs.push({ name, layer, branch, rate: p });
    return g.input(name, 'float32', ['T', 1, 1]);
  };
}
