/**
 * Where the graph builders get their weights from: a checkpoint (external initializers pointing into
 * the safetensors files) or shapes only (for building real-size graphs without any weights).
 */
import { host } from '../host/platform.ts';
import type { Checkpoint } from '../io/checkpoint.ts';
import type { GraphBuilder, Value, DType, TensorData } from '../graph/builder.ts';
import { fail } from '../errors.ts';
import { dtypeSize, numel, type Dtype } from '../io/safetensors.ts';
import { hadamard } from './hadamard.ts';

/** Safetensors dtypes the graphs accept as weights, with their ONNX names. */
const ONNX_DTYPE: Record<string, DType> = { F32: 'float32', BF16: 'bfloat16', F16: 'float16' };

export interface WeightRef {
  name: string;
  /** Safetensors dtype ('F32' | 'BF16' | 'F16'). */
  dtype: string;
  shape: number[];
  data: TensorData;
}

/**
 * A linear weight W [n, k] stored block-quantized in com.microsoft MatMulNBits' layout
 * (runtime/quantize.ts): `packed` uint8 [n, blocks, blockSize·bits/8], `scales` float32 [n·blocks].
 */
export interface QuantizedLinearRef {
  form: 'blocks';
  bits: 4 | 8;
  blockSize: number;
  n: number;
  k: number;
  packed: TensorData;
  scales: TensorData;
}

/**
 * A linear weight W [n, k] stored int8 per output channel in com.microsoft DynamicQuantizeMatMul's
 * layout (runtime/quantize.ts quantizeChannels): `weights` int8 [k, n] (transposed), `scales` float32 [n].
 */
export interface ChannelQuantizedLinearRef {
  form: 'channels';
  /**
   * How the activations are quantized: `tensor` = one scale per call (DynamicQuantizeMatMul), `rows` =
   * one scale per row (blocked QuantizeLinear + MatMulIntegerToFloat: the same MLAS u8s8 QGEMM, rows of
   * different scale keep their own resolution).
   */
  activations: 'tensor' | 'rows';
  /**
   * With `rows`: the Hadamard block the weights' columns were rotated in (quantize.ts rotateColumns);
   * the graph rotates x the same way before quantizing it. Absent: not rotated.
   */
  rotate?: number;
  n: number;
  k: number;
  weights: TensorData;
  scales: TensorData;
}

/**
 * What feeds a linear: `normed` = a norm's output (rows of equal scale: a per-tensor activation scale,
 * as DynamicQuantizeMatMul uses, loses little there), `other` = anything else.
 */
export type LinearInput = 'normed' | 'other';

export interface WeightSource {
  ref(name: string): WeightRef;
  /**
   * The quantized form of the linear weight `name` [n, k] (failing when the stored shape differs), or
   * null to use the weight as `ref` gives it. Sources without quantization leave this out.
   */
  quantized?(name: string, shape: readonly [number, number], input: LinearInput): QuantizedLinearRef | ChannelQuantizedLinearRef | null;
  /** The folder external-data locations are relative to (null for shape-only sources). */
  readonly externalFolder: string | null;
}

/**
 * External initializers pointing straight into the checkpoint's safetensors files. ORT resolves
 * `location` against one folder, so all files must share a real folder (true for a plain checkpoint
 * folder and for the HF cache's blobs/ folder).
 */
export function checkpointWeights(ckpt: Checkpoint): WeightSource {
  const folders = new Set(ckpt.files.map((f) => host.path.dirname(f.path)));
  if (folders.size !== 1) fail(`${ckpt.dir}: the safetensors shards resolve to different folders (${[...folders].join(', ')}); put them in one folder`);
  const folder = [...folders][0]!;
  return {
    externalFolder: folder,
    ref(name) {
      const info = ckpt.tensor(name);
      if (!(info.dtype in ONNX_DTYPE)) fail(`${ckpt.dir}: tensor '${name}' has dtype ${info.dtype}; expected BF16, F16 or F32`);
      const location = host.path.relative(folder, info.file);
      if (host.path.isAbsolute(location) || location.startsWith('..') || location.includes(host.path.sep)) {
        fail(`${ckpt.dir}: tensor file ${info.file} is outside ${folder}`);
      }
      return { name, dtype: info.dtype, shape: info.shape, data: { kind: 'external', location, offset: info.offset, length: info.byteLength } };
    },
  };
}

/** Shapes only: initializers are declared external to a placeholder file and never loaded. */
export function shapeOnlyWeights(tensors: Iterable<{ name: string; dtype?: Dtype; shape: readonly number[] }>): WeightSource {
  const map = new Map<string, WeightRef>();
  for (const t of tensors) {
    const dtype = t.dtype ?? 'BF16';
    const length = numel(t.shape) * dtypeSize(dtype);
    map.set(t.name, { name: t.name, dtype, shape: [...t.shape], data: { kind: 'external', location: 'weights-not-loaded', offset: 0, length } });
  }
  return {
    externalFolder: null,
    ref: (name) => map.get(name) ?? fail(`no tensor '${name}' in the inventory`),
  };
}

/**
 * Adds checkpoint tensors to one graph as initializers (once per name) and hands out float32 values:
 * BF16/F16 are followed by a Cast that ORT folds at session creation.
 */
export class GraphWeights {
  private readonly f32 = new Map<string, Value>();
  private readonly stored = new Map<string, Value>();
  private zeroPoint128: Value | undefined;
  private readonly hadamards = new Map<number, Value>();
  constructor(readonly g: GraphBuilder, readonly src: WeightSource) {}

  /** The tensor in its stored dtype (e.g. the bf16 embedding table, gathered before the cast). */
  raw(name: string, expectShape?: readonly number[]): { value: Value; dtype: string; shape: number[] } {
    const ref = this.src.ref(name);
    if (expectShape) checkShape(name, ref.shape, expectShape);
    let v = this.stored.get(name);
    if (!v) {
      v = this.g.initializer({ name, dtype: ONNX_DTYPE[ref.dtype]!, dims: ref.shape, data: ref.data });
      this.stored.set(name, v);
    }
    return { value: v, dtype: ref.dtype, shape: ref.shape };
  }

  /**
   * x · Wᵀ (+ b) for the checkpoint's linear weight `weight` [n, k] (PyTorch layout) and optional bias
   * [n]: MatMulNBits or DynamicQuantizeMatMul where the source holds W quantized (in blocks / per
   * channel), else GraphBuilder.linear on the float32 weight.
   */
  linear(x: Value, weight: string, shape: readonly [number, number], bias?: string | null, input: LinearInput = 'other'): Value {
    const q = this.src.quantized?.(weight, shape, input) ?? null;
    if (!q) return this.g.linear(x, this.get(weight, shape), bias ? this.get(bias, [shape[0]]) : null);
    if (q.form === 'channels') {
      const b = this.g.initializer({ name: `${weight}.qc8`, dtype: 'int8', dims: [q.k, q.n], data: q.weights });
      const scales = this.g.initializer({ name: `${weight}.cscales`, dtype: 'float32', dims: [q.n], data: q.scales });
      const biasValue = bias ? this.get(bias, [shape[0]]) : null;
      if (q.activations === 'rows') return this.rowQuantizedMatMul(q.rotate ? this.rotate(x, q.k, q.rotate) : x, b, scales, biasValue, q.k);
      // Inputs: A, B, b_scale, b_zero_point (none: symmetric), bias (added in the kernel's output pass).
      return this.g.op1('DynamicQuantizeMatMul', [x, b, scales, null, biasValue], {}, 'com.microsoft');
    }
    const blocks = Math.ceil(q.k / q.blockSize);
    const packed = this.g.initializer({ name: `${weight}.q${q.bits}`, dtype: 'uint8', dims: [q.n, blocks, (q.blockSize * q.bits) / 8], data: q.packed });
    const scales = this.g.initializer({ name: `${weight}.scales`, dtype: 'float32', dims: [q.n * blocks], data: q.scales });
    const y = this.g.matMulNBits(x, packed, scales, { k: q.k, n: q.n, bits: q.bits, blockSize: q.blockSize });
    return bias ? this.g.add(y, this.get(bias, [shape[0]])) : y;
  }

  /**
   * x [.., k] · B (int8 [k, n], scale per column) with x quantized per row to uint8 around 128
   * (scale = row max |x| / 127, as symmetric as the u8s8 kernel allows): y = (row scale · column scale ·
   * integer product) + bias. MatMulIntegerToFloat takes only a per-tensor A scale, so the row scales
   * multiply its output.
   */
  private rowQuantizedMatMul(x: Value, b: Value, colScales: Value, bias: Value | null, k: number): Value {
    const g = this.g;
    // max |x| per row [.., 1] from ReduceMax and ReduceMin (two reads; Abs would write a copy of x first)
    const axis = g.constI64([-1]);
    const hi = g.op1('ReduceMax', [x, axis], { keepdims: 1 });
    const lo = g.op1('ReduceMin', [x, axis], { keepdims: 1 });
    const scale = g.op1('Max', [g.op1('Div', [g.op1('Max', [hi, g.op1('Neg', [lo])]), g.constF32([127], [])]), g.constF32([1e-30], [])]);
    this.zeroPoint128 ??= g.initializer({ name: 'minivl.u8_128', dtype: 'uint8', dims: [], data: { kind: 'raw', bytes: Uint8Array.of(128) } });
    // Blocked QuantizeLinear (one block = a whole row) keeps x's shape: no reshapes, and the output's
    // last dimension stays known to ORT, which then fuses a following bias Add + Gelu (BiasGelu).
    const zp = g.op1('Expand', [this.zeroPoint128, g.shape(scale)]);
    const q = g.op1('QuantizeLinear', [x, scale, zp], { axis: -1, block_size: k });
    const acc = g.op1('MatMulIntegerToFloat', [q, b, g.constF32([1], []), colScales, this.zeroPoint128], {}, 'com.microsoft');
    const y = g.mul(acc, scale);
    return bias ? g.add(y, bias) : y;
  }

  /** x [B, S, k] rotated in blocks of b: one MatMul of [B, S, k/b, b] by the (symmetric) Hadamard matrix. */
  private rotate(x: Value, k: number, b: number): Value {
    let h = this.hadamards.get(b);
    if (!h) {
      const m = hadamard(b);
      h = this.g.initializer({ name: `minivl.hadamard_${b}`, dtype: 'float32', dims: [b, b], data: { kind: 'raw', bytes: new Uint8Array(m.buffer, m.byteOffset, m.byteLength) } });
      this.hadamards.set(b, h);
    }
    return this.g.reshape(this.g.matMul(this.g.reshape(x, [0, 0, k / b, b]), h), [0, 0, k]);
  }

  /** The tensor as float32 (checks the shape when given). */
  get(name: string, expectShape?: readonly number[]): Value {
    const hit = this.f32.get(name);
    if (hit) return hit;
    const r = this.raw(name, expectShape);
    const v = r.dtype === 'F32' ? r.value : this.g.cast(r.value, 'float32');
    this.f32.set(name, v);
    return v;
  }

  /** Registers an in-memory float32 tensor under a checkpoint name (e.g. a resized position embedding). */
  setFloat32(name: string, data: Float32Array, dims: number[]): Value {
    const v = this.g.initializer({ name, dtype: 'float32', dims, data: { kind: 'raw', bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) } });
    this.f32.set(name, v);
    return v;
  }
}

export function checkShape(name: string, shape: readonly number[], expect: readonly number[]): void {
  if (shape.length !== expect.length || shape.some((d, i) => d !== expect[i])) {
    fail(`tensor '${name}' has shape [${shape.join(', ')}], expected [${expect.join(', ')}]`);
  }
}
