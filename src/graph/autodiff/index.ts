/**
 * Reverse-mode autodiff over the project's ONNX graphs: symbolic shapes (dims.ts, shapes.ts), one
 * gradient rule per op (rules.ts), and the backward pass that appends them to a graph (gradients.ts).
 */
export { addGradients, graphInfo, lossSeed, type GradientRequest, type GradientResult } from './gradients.ts';
export { GRADIENT_RULES, type GradRule } from './rules.ts';
export { inferShapes, type ValueInfo, type GraphNode } from './shapes.ts';
export type { Dim } from './dims.ts';
