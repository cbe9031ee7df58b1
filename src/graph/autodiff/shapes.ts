/**
 * Dtype and (symbolic) shape of every value of a graph, inferred in TypeScript for the ops the
 * model graphs emit, so the gradient rules know ranks and broadcast axes when they are built. Small
 * int64 tensors (shape computations: Shape/Concat/Slice/Squeeze of shapes, constants) also carry
 * their values, which is how a Reshape to a computed shape gets its output shape.
 */
import type { DType, GraphBuilder, Initializer } from '../builder.ts';
import { DataType } from '../onnx-proto.ts';
import { addDim, broadcastShapes, divDim, mulDim, numelOf, type Dim } from './dims.ts';

export type GraphNode = ReturnType<GraphBuilder['listNodes']>[number];
export type AttrValue = GraphNode['attrs'][string];

export interface ValueInfo {
  dtype: DType;
  shape: Dim[];
  /** Element values of a small int64 tensor when known (dims may be symbolic). */
  ints?: Dim[];
}

const DTYPE_BY_CODE = new Map<number, DType>(Object.entries(DataType).map(([k, v]) => [v, k as DType]));

export function dtypeOfCode(code: number): DType {
  const d = DTYPE_BY_CODE.get(code);
  if (!d) throw new Error(`unsupported ONNX data type ${code}`);
  return d;
}

export function attrInt(node: GraphNode, name: string, dflt: number): number {
  const v = node.attrs[name];
  return typeof v === 'number' ? v : dflt;
}
export function attrFloat(node: GraphNode, name: string, dflt: number): number {
  const v = node.attrs[name];
  if (v && typeof v === 'object' && !Array.isArray(v)) return v.float;
  return typeof v === 'number' ? v : dflt;
}
export function attrInts(node: GraphNode, name: string): number[] | undefined {
  const v = node.attrs[name];
  return Array.isArray(v) ? v : undefined;
}

const norm = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

/** Values of int64 initializers (shape constants); other initializers get dtype/shape only. */
export function initializerInfo(init: Initializer): ValueInfo {
  const info: ValueInfo = { dtype: init.dtype, shape: [...init.dims] };
  if (init.dtype === 'int64' && init.data.kind === 'raw' && init.data.bytes.byteLength <= 8 * 64) {
    const b = init.data.bytes;
    const arr = new BigInt64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    info.ints = Array.from(arr, (x) => Number(x));
  }
  return info;
}

/** Infers every node output in order; `known` holds graph inputs and initializers. Throws on an op it does not know. */
export function inferShapes(nodes: readonly GraphNode[], known: Map<string, ValueInfo>): Map<string, ValueInfo> {
  const info = new Map(known);
  for (const node of nodes) {
    const outs = inferNode(node, (i) => {
      const name = node.inputs[i];
      if (!name) return undefined;
      const v = info.get(name);
      if (!v) throw new Error(`shape inference: ${node.opType} node ${node.name} reads unknown value '${name}'`);
      return v;
    });
    node.outputs.forEach((o, i) => {
      if (o && outs[i]) info.set(o, outs[i]!);
    });
  }
  return info;
}

function intsOf(v: ValueInfo | undefined, what: string): Dim[] {
  if (!v?.ints) throw new Error(`shape inference: ${what} must be a known int64 tensor`);
  return v.ints;
}
function numbersOf(v: ValueInfo | undefined, what: string): number[] {
  const xs = intsOf(v, what);
  if (!xs.every((x) => typeof x === 'number')) throw new Error(`shape inference: ${what} must be constant`);
  return xs as number[];
}

function sliceDim(d: Dim, start: number, end: number): { dim: Dim; start: number | null; end: number | null } {
  if (typeof d === 'number') {
    const s = Math.min(Math.max(start < 0 ? start + d : start, 0), d);
    const e = Math.min(Math.max(end < 0 ? end + d : end, 0), d);
    return { dim: Math.max(e - s, 0), start: s, end: e };
  }
  // Symbolic dim: only "from a non-negative start to the end" and "first n" are expressible.
  if (start >= 0 && end >= 2 ** 31 - 1) return { dim: start === 0 ? d : addDim(d, -start), start, end: null };
  if (start >= 0 && end >= 0) return { dim: end - start, start, end };
  throw new Error(`shape inference: cannot slice symbolic dim ${d} with [${start}, ${end})`);
}

function inferNode(node: GraphNode, inp: (i: number) => ValueInfo | undefined): (ValueInfo | undefined)[] {
  const x = inp(0);
  const same = (): ValueInfo[] => [{ dtype: x!.dtype, shape: [...x!.shape] }];
  switch (node.opType) {
    case 'Identity':
      return [{ ...x!, shape: [...x!.shape] }];
    case 'Sigmoid': case 'Gelu': case 'Neg': case 'Sqrt': case 'Reciprocal': case 'Exp': case 'Erf': case 'Tanh': case 'Relu':
    case 'Softmax': case 'LogSoftmax': case 'RMSNormalization': case 'SimplifiedLayerNormalization': case 'LayerNormalization':
    case 'RotaryEmbedding':
      return same();
    case 'Cast':
      return [{ dtype: dtypeOfCode(attrInt(node, 'to', 1)), shape: [...x!.shape], ints: x!.ints }];
    case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Pow': case 'Max': case 'Min': {
      const y = inp(1)!;
      const out: ValueInfo = { dtype: x!.dtype, shape: broadcastShapes(x!.shape, y.shape) };
      if (x!.ints && y.ints && x!.ints.length === y.ints.length && (node.opType === 'Add' || node.opType === 'Mul')) {
        out.ints = x!.ints.map((a, i) => (node.opType === 'Add' ? addDim(a, y.ints![i]!) : mulDim(a, y.ints![i]!)));
      }
      return [out];
    }
    case 'Equal': case 'Less': case 'LessOrEqual': case 'Greater': case 'GreaterOrEqual': case 'Not':
      return [{ dtype: 'bool', shape: node.opType === 'Not' ? [...x!.shape] : broadcastShapes(x!.shape, inp(1)!.shape) }];
    case 'Where': {
      const a = inp(1)!;
      return [{ dtype: a.dtype, shape: broadcastShapes(broadcastShapes(x!.shape, a.shape), inp(2)!.shape) }];
    }
    case 'MatMul': case 'FusedMatMul': {
      const y = inp(1)!;
      const tA = node.opType === 'FusedMatMul' ? attrInt(node, 'transA', 0) : 0;
      const tB = node.opType === 'FusedMatMul' ? attrInt(node, 'transB', 0) : 0;
      if (x!.shape.length < 2 || y.shape.length < 2) throw new Error(`shape inference: ${node.opType} needs rank ≥ 2 inputs`);
      const a = x!.shape;
      const b = y.shape;
      const M = tA ? a[a.length - 1]! : a[a.length - 2]!;
      const N = tB ? b[b.length - 2]! : b[b.length - 1]!;
      const batch = broadcastShapes(a.slice(0, -2), b.slice(0, -2));
      return [{ dtype: x!.dtype, shape: [...batch, M, N] }];
    }
    case 'Transpose': {
      const r = x!.shape.length;
      const perm = attrInts(node, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
      return [{ dtype: x!.dtype, shape: perm.map((p) => x!.shape[p]!) }];
    }
    case 'Reshape': {
      const target = intsOf(inp(1), `Reshape ${node.name} shape`);
      const shape = target.map((d, i) => (d === 0 ? x!.shape[i]! : d));
      const neg = shape.indexOf(-1);
      if (neg >= 0) {
        const rest = numelOf(shape.filter((_, i) => i !== neg));
        const q = divDim(numelOf(x!.shape), rest);
        shape[neg] = q ?? `?${node.outputs[0]}`;
      }
      return [{ dtype: x!.dtype, shape, ints: x!.ints }];
    }
    case 'Squeeze': {
      const r = x!.shape.length;
      const axes = node.inputs[1] ? numbersOf(inp(1), 'Squeeze axes').map((a) => norm(a, r)) : x!.shape.flatMap((d, i) => (d === 1 ? [i] : []));
      return [{ dtype: x!.dtype, shape: x!.shape.filter((_, i) => !axes.includes(i)), ints: x!.ints }];
    }
    case 'Unsqueeze': {
      const axes = numbersOf(inp(1), 'Unsqueeze axes');
      const r = x!.shape.length + axes.length;
      const shape: Dim[] = [];
      const src = [...x!.shape];
      const ax = axes.map((a) => norm(a, r));
      for (let i = 0; i < r; i++) shape.push(ax.includes(i) ? 1 : src.shift()!);
      return [{ dtype: x!.dtype, shape, ints: x!.ints }];
    }
    case 'Concat': {
      const xs = node.inputs.map((_, i) => inp(i)!);
      const r = xs[0]!.shape.length;
      const axis = norm(attrInt(node, 'axis', 0), r);
      const shape = [...xs[0]!.shape];
      shape[axis] = xs.slice(1).reduce<Dim>((acc, v) => addDim(acc, v.shape[axis]!), xs[0]!.shape[axis]!);
      const out: ValueInfo = { dtype: xs[0]!.dtype, shape };
      if (r === 1 && xs.every((v) => v.ints)) out.ints = xs.flatMap((v) => v.ints!);
      return [out];
    }
    case 'Split': {
      const r = x!.shape.length;
      const axis = norm(attrInt(node, 'axis', 0), r);
      const sizes = numbersOf(inp(1), `Split ${node.name} sizes`);
      return sizes.map((s) => {
        const shape = [...x!.shape];
        shape[axis] = s;
        return { dtype: x!.dtype, shape };
      });
    }
    case 'Slice': {
      const starts = numbersOf(inp(1), 'Slice starts');
      const ends = numbersOf(inp(2), 'Slice ends');
      const r = x!.shape.length;
      const axes = node.inputs[3] ? numbersOf(inp(3), 'Slice axes').map((a) => norm(a, r)) : starts.map((_, i) => i);
      if (node.inputs[4] && numbersOf(inp(4), 'Slice steps').some((s) => s !== 1)) throw new Error('shape inference: Slice steps other than 1');
      const shape = [...x!.shape];
      axes.forEach((a, i) => { shape[a] = sliceDim(shape[a]!, starts[i]!, ends[i]!).dim; });
      const out: ValueInfo = { dtype: x!.dtype, shape };
      if (x!.ints && r === 1 && typeof shape[0] === 'number') {
        const s = sliceDim(x!.ints.length, starts[0]!, ends[0]!);
        out.ints = x!.ints.slice(s.start!, s.end!);
      }
      return [out];
    }
    case 'Gather': {
      const idx = inp(1)!;
      const r = x!.shape.length;
      const axis = norm(attrInt(node, 'axis', 0), r);
      const out: ValueInfo = { dtype: x!.dtype, shape: [...x!.shape.slice(0, axis), ...idx.shape, ...x!.shape.slice(axis + 1)] };
      if (x!.ints && r === 1 && idx.ints && idx.ints.every((i) => typeof i === 'number')) {
        out.ints = (idx.ints as number[]).map((i) => x!.ints![i < 0 ? i + x!.ints!.length : i]!);
      }
      return [out];
    }
    case 'GatherElements':
      return [{ dtype: x!.dtype, shape: [...inp(1)!.shape] }];
    case 'ScatterND': case 'ScatterElements':
      return same();
    case 'Shape': {
      const r = x!.shape.length;
      const start = norm(attrInt(node, 'start', 0), r);
      const endAttr = node.attrs.end;
      const end = typeof endAttr === 'number' ? norm(endAttr, r) : r;
      const ints = x!.shape.slice(start, end);
      return [{ dtype: 'int64', shape: [ints.length], ints }];
    }
    case 'Size':
      return [{ dtype: 'int64', shape: [], ints: [numelOf(x!.shape)] }];
    case 'Range':
      return [{ dtype: x!.dtype, shape: [`?${node.outputs[0]}`] }];
    case 'Expand': {
      const target = intsOf(inp(1), `Expand ${node.name} shape`);
      return [{ dtype: x!.dtype, shape: broadcastShapes(x!.shape, target) }];
    }
    case 'ConstantOfShape':
      return [{ dtype: 'float32', shape: intsOf(x, 'ConstantOfShape shape') }];
    case 'ReduceSum': case 'ReduceMean': case 'ReduceMax': {
      const r = x!.shape.length;
      const keep = attrInt(node, 'keepdims', 1) === 1;
      let axes: number[] = node.inputs[1] ? numbersOf(inp(1), `${node.opType} axes`) : (attrInts(node, 'axes') ?? []);
      if (axes.length === 0) axes = attrInt(node, 'noop_with_empty_axes', 0) ? [] : x!.shape.map((_, i) => i);
      axes = axes.map((a) => norm(a, r));
      const shape = keep ? x!.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x!.shape.filter((_, i) => !axes.includes(i));
      return [{ dtype: x!.dtype, shape }];
    }
    case 'Pad': {
      const pads = numbersOf(inp(1), 'Pad pads');
      const r = x!.shape.length;
      return [{ dtype: x!.dtype, shape: x!.shape.map((d, i) => addDim(addDim(d, pads[i]!), pads[i + r]!)) }];
    }
    case 'Conv': {
      const w = inp(1)!;
      const ks = attrInts(node, 'kernel_shape') ?? (w.shape.slice(2) as number[]);
      const strides = attrInts(node, 'strides') ?? ks.map(() => 1);
      const pads = attrInts(node, 'pads') ?? [...ks, ...ks].map(() => 0);
      const spatial = x!.shape.slice(2).map((d, i) => {
        if (typeof d !== 'number') throw new Error('shape inference: Conv with symbolic spatial dims');
        return Math.floor((d + pads[i]! + pads[i + ks.length]! - ks[i]!) / strides[i]!) + 1;
      });
      return [{ dtype: x!.dtype, shape: [x!.shape[0]!, w.shape[0]!, ...spatial] }];
    }
    case 'MultiHeadAttention': {
      const v = inp(2)!;
      if (x!.shape.length !== 3 || v.shape.length !== 3) throw new Error('shape inference: MultiHeadAttention with packed or 4-D inputs');
      return [{ dtype: x!.dtype, shape: [x!.shape[0]!, x!.shape[1]!, v.shape[2]!] }];
    }
    default:
      throw new Error(`shape inference: op ${node.domain ? node.domain + '.' : ''}${node.opType} is not supported`);
  }
}
