/**
 * Finite-difference check of the autodiff rules on ONNX Runtime: a small graph around one op (or
 * any subgraph) is reduced to the scalar L = Σ_k Σ w_k ⊙ y_k with fixed random weights; the
 * gradient graph's dL/dx is compared with central differences (L(x + ε e_j) − L(x − ε e_j)) / 2ε
 * for every element of every differentiable input. float64 where ORT has the kernels (the error is
 * then ~1e-9); float32 ops are perturbed with a larger ε and L accumulated in float64.
 */
import { GraphBuilder, type DType, type Value } from '../graph/builder.ts';
import { addGradients, graphInfo, lossSeed } from '../graph/autodiff/index.ts';
import { isStatic } from '../graph/autodiff/dims.ts';
import { createSession, ort } from './session.ts';

export interface CheckInput {
  name: string;
  dtype: DType;
  shape: number[];
  /** Values (default: uniform in [−1, 1) from the check's seed). */
  data?: number[];
  /** Differentiate with respect to this input (default: float inputs). */
  wrt?: boolean;
}

export interface CheckOptions {
  /** Builds the checked computation from the declared inputs; returns its outputs. */
  build: (g: GraphBuilder, inputs: Value[]) => Value[];
  inputs: CheckInput[];
  /** Opset of the test graph (default the builder's). */
  opset?: number;
  eps?: number;
  seed?: number;
}

export interface CheckResult {
  /** Per checked input: ‖analytic − numeric‖₂ / ‖numeric‖₂. */
  relErr: Record<string, number>;
  maxRelErr: number;
}

/** Deterministic uniform [−1, 1) numbers (mulberry32). */
export function uniform(n: number, seed: number): number[] {
  let a = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out.push((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1);
  }
  return out;
}

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
const isFloat = (d: DType) => d === 'float32' || d === 'float64';

function typed(dtype: DType, data: number[]): ort.Tensor['data'] {
  switch (dtype) {
    case 'float32': return Float32Array.from(data);
    case 'float64': return Float64Array.from(data);
    case 'int64': return BigInt64Array.from(data.map((v) => BigInt(v)));
    case 'int32': return Int32Array.from(data);
    case 'bool': return Uint8Array.from(data);
    default: throw new Error(`gradcheck: unsupported input dtype ${dtype}`);
  }
}

/** Builds L = Σ_k Σ w_k ⊙ y_k (in float64) over the outputs; returns the graph and L's name. */
function lossGraph(opts: CheckOptions, seed: number): { g: GraphBuilder; loss: Value; inputs: Value[] } {
  const g = new GraphBuilder('gradcheck', { opset: opts.opset });
  const inputs = opts.inputs.map((i) => g.input(i.name, i.dtype, i.shape));
  const outs = opts.build(g, inputs);
  const info = graphInfo(g);
  let loss: Value | null = null;
  outs.forEach((y, k) => {
    const yi = info.get(y.name)!;
    if (!isStatic(yi.shape)) throw new Error(`gradcheck: output ${k} has a symbolic shape`);
    const w = uniform(numel(yi.shape), seed + 101 * (k + 1));
    const wv = g.initializer({ name: `check_w${k}`, dtype: 'float64', dims: yi.shape, data: { kind: 'raw', bytes: new Uint8Array(Float64Array.from(w).buffer) }, role: 'constant' });
    const y64 = yi.dtype === 'float64' ? y : g.cast(y, 'float64');
    const term = g.op1('ReduceSum', [g.mul(y64, wv)], { keepdims: 0 });
    loss = loss ? g.add(loss, term) : term;
  });
  if (!loss) throw new Error('gradcheck: the build function returned no outputs');
  g.output(loss, 'check_loss', 'float64', []);
  return { g, loss, inputs };
}

export async function checkGradients(opts: CheckOptions): Promise<CheckResult> {
  const seed = opts.seed ?? 1;
  const data = opts.inputs.map((inp, k) => inp.data ?? uniform(numel(inp.shape), seed + 7 * k));
  const checked = opts.inputs.map((i) => i.wrt ?? isFloat(i.dtype));

  const fwd = lossGraph(opts, seed);
  const fwdSession = await createSession(fwd.g.toBytes(), { intraOpNumThreads: 1, label: 'gradcheck forward' });

  const bwd = lossGraph(opts, seed);
  const info = graphInfo(bwd.g);
  const wrt = opts.inputs.filter((_, k) => checked[k]).map((i) => i.name);
  const { grads } = addGradients(bwd.g, { wrt, seeds: lossSeed(bwd.g, info, bwd.loss.name) }, info);
  for (const name of wrt) {
    const ii = opts.inputs.find((i) => i.name === name)!;
    bwd.g.output(grads.get(name)!, `grad.${name}`, ii.dtype, ii.shape);
  }
  const bwdSession = await createSession(bwd.g.toBytes(), { intraOpNumThreads: 1, label: 'gradcheck backward' });

  const feeds = (vals: number[][]) =>
    Object.fromEntries(opts.inputs.map((inp, k) => [inp.name, new ort.Tensor(inp.dtype as 'float32', typed(inp.dtype, vals[k]!) as Float32Array, inp.shape)]));
  const lossAt = async (vals: number[][]) => Number((await fwdSession.run(feeds(vals), ['check_loss'])).check_loss!.data[0]);

  const analytic = await bwdSession.run(feeds(data), wrt.map((n) => `grad.${n}`));
  const relErr: Record<string, number> = {};
  for (let k = 0; k < opts.inputs.length; k++) {
    if (!checked[k]) continue;
    const inp = opts.inputs[k]!;
    const eps = opts.eps ?? (inp.dtype === 'float64' ? 1e-6 : 1e-3);
    const an = analytic[`grad.${inp.name}`]!.data as Float32Array | Float64Array;
    const round = inp.dtype === 'float32' ? Math.fround : (v: number) => v;
    let num = 0;
    let den = 0;
    for (let j = 0; j < data[k]!.length; j++) {
      const plus = data.map((d) => [...d]);
      const minus = data.map((d) => [...d]);
      plus[k]![j] = round(data[k]![j]! + eps);
      minus[k]![j] = round(data[k]![j]! - eps);
      const fd = ((await lossAt(plus)) - (await lossAt(minus))) / (plus[k]![j]! - minus[k]![j]!);
      num += (an[j]! - fd) ** 2;
      den += fd * fd;
    }
    relErr[inp.name] = den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
  }
  await fwdSession.release();
  await bwdSession.release();
  return { relErr, maxRelErr: Math.max(...Object.values(relErr)) };
}
