/**
 * float32 → float16 compute: rebuilds a finished float32 graph so that every float tensor inside it is
 * float16 — the approach of onnxconverter-common's `convert_float_to_float16` (float initializers
 * converted, value types changed, Casts at the edges, a block list of ops kept in float32), written
 * for this builder's graphs:
 *  - float32 raw initializers (builder constants) are stored as float16, clamped to its finite range
 *    (±65504; a −inf mask constant becomes −65504, which still gives exp(x − max) = 0 in Softmax and
 *    cannot make inf − inf = NaN); float32 external initializers get a Cast to float16 (folded once by
 *    ONNX Runtime when the session is created, like the bf16 → f32 Casts of the fp32 graphs);
 *  - `Cast(to: float32)` nodes (the widening of stored bf16/f16 weights) cast to float16 instead, or
 *    become Identity when their input already is float16;
 *  - float32 graph inputs and outputs keep their float32 interface through a Cast after/before them,
 *    except those named in `float16Io`, which become float16 in the interface (the KV cache that stays
 *    on the GPU, to halve its size);
 *  - ops in `keepFloat32` compute in float32 between Casts.
 * Float attributes need nothing: the norms' epsilon and `stash_type` (float32 statistics, the opset-23
 * default of LayerNormalization and RMSNormalization) are read as floats by the kernels whatever the
 * tensor type. The builder holds no tensor attributes (Constant, ConstantOfShape), so none can hide a
 * float32 value; an op whose output type this pass cannot tell is refused rather than guessed.
 */
import { GraphBuilder, type DType, type Value } from './builder.ts';
import { DataType } from './onnx-proto.ts';
import { f32ToF16 } from '../io/dtype.ts';

export interface Float16Options {
  /** float32 graph inputs/outputs that become float16 in the interface (the others keep float32). */
  float16Io?: Iterable<string>;
  /** Op types (`domain:op`, '' for ai.onnx) computed in float32 between Casts. */
  keepFloat32?: Iterable<string>;
}

/** Ops whose (first) output is not of their first input's type. */
const FIXED_OUTPUT: Record<string, DType> = {
  Shape: 'int64', Size: 'int64', ArgMax: 'int64', ArgMin: 'int64', NonZero: 'int64',
  Equal: 'bool', Less: 'bool', LessOrEqual: 'bool', Greater: 'bool', GreaterOrEqual: 'bool', Not: 'bool', And: 'bool', Or: 'bool', IsNaN: 'bool', IsInf: 'bool',
};
/** Ops whose output type is that of a later input (Where: the values, not the condition). */
const TYPE_FROM_INPUT: Record<string, number> = { Where: 1 };
/** Ops that create values from attributes the builder cannot write (tensor attributes): refused. */
const REFUSED = new Set(['Constant', 'ConstantOfShape', 'RandomNormal', 'RandomUniform', 'EyeLike']);

const FLOAT16_MAX = 65504;
const DTYPE_OF: Record<number, DType> = Object.fromEntries(Object.entries(DataType).map(([k, v]) => [v, k as DType]));

/** float32 values → float16 bytes, clamped to the finite float16 range (NaN stays NaN). */
function f16Bytes(bytes: Uint8Array): Uint8Array {
  const f = new Float32Array(bytes.slice().buffer);
  for (let i = 0; i < f.length; i++) {
    const x = f[i]!;
    if (x > FLOAT16_MAX) f[i] = FLOAT16_MAX;
    else if (x < -FLOAT16_MAX) f[i] = -FLOAT16_MAX;
  }
  return new Uint8Array(f32ToF16(f).buffer);
}

/** A float16-compute copy of `src` (a float32 graph); `src` is left as it was. */
export function toFloat16(src: GraphBuilder, opts: Float16Options = {}): GraphBuilder {
  const io16 = new Set(opts.float16Io ?? []);
  const keep32 = new Set(opts.keepFloat32 ?? []);
  const g = new GraphBuilder(src.name);
  /** Element type of every value of the new graph, by the old graph's name. */
  const type = new Map<string, DType>();
  /** Old value name → the value to use in the new graph (differs where a Cast was put in between). */
  const alias = new Map<string, string>();
  const ref = (name: string): Value | null => (name === '' ? null : { name: alias.get(name) ?? name });

  for (const i of src.listInputs()) {
    if (i.dtype !== 'float32') {
      g.input(i.name, i.dtype, i.dims ?? []);
      type.set(i.name, i.dtype);
    } else if (io16.has(i.name)) {
      g.input(i.name, 'float16', i.dims ?? []);
      type.set(i.name, 'float16');
    } else {
      const x = g.input(i.name, 'float32', i.dims ?? []);
      alias.set(i.name, g.op('Cast', [x], { to: DataType.float16 }, { outputNames: [`${i.name}__f16`] })[0].name);
      type.set(i.name, 'float16');
    }
  }
  for (const init of src.listInitializers()) {
    if (init.dtype !== 'float32') {
      g.initializer(init);
      type.set(init.name, init.dtype);
    } else if (init.data.kind === 'raw') {
      g.initializer({ ...init, dtype: 'float16', data: { kind: 'raw', bytes: f16Bytes(init.data.bytes) } });
      type.set(init.name, 'float16');
    } else {
      const w = g.initializer(init);
      alias.set(init.name, g.op('Cast', [w], { to: DataType.float16 }, { outputNames: [`${init.name}__f16`] })[0].name);
      type.set(init.name, 'float16');
    }
  }

  // Outputs that keep float32: their producer writes a float16 twin, cast back at the end.
  const outputs = src.listOutputs();
  const castBack = new Set(outputs.filter((o) => o.dtype === 'float32' && !io16.has(o.name)).map((o) => o.name));
  const outName = (name: string) => (castBack.has(name) ? `${name}__f16` : name);

  for (const n of src.listNodes()) {
    const key = `${n.domain}:${n.opType}`;
    if (REFUSED.has(n.opType)) throw new Error(`toFloat16: graph ${src.name}: ${n.opType} (${n.name}) holds values this pass cannot convert`);
    const inputs = n.inputs.map(ref);
    const inTypes = n.inputs.map((x) => (x === '' ? undefined : type.get(x)));
    const outNames = n.outputs.map(outName);
    for (const o of n.outputs) if (outName(o) !== o) alias.set(o, outName(o));
    const opt = { domain: n.domain, outputNames: outNames };

    if (n.opType === 'Cast' && n.domain === '') {
      const to = DTYPE_OF[n.attrs.to as number];
      if (to === undefined) throw new Error(`toFloat16: graph ${src.name}: Cast ${n.name} to unknown type ${String(n.attrs.to)}`);
      const target = to === 'float32' ? 'float16' : to;
      if (target === inTypes[0]) g.op('Identity', inputs, {}, opt);
      else g.op('Cast', inputs, { ...n.attrs, to: DataType[target] }, opt);
      n.outputs.forEach((o) => type.set(o, target));
      continue;
    }
    const from = TYPE_FROM_INPUT[n.opType] ?? 0;
    const outType = FIXED_OUTPUT[n.opType] ?? inTypes[from] ?? inTypes.find((t) => t !== undefined);
    if (outType === undefined) throw new Error(`toFloat16: graph ${src.name}: cannot tell the output type of ${n.opType} (${n.name})`);

    if (keep32.has(key)) {
      // float16 inputs widened, float outputs narrowed: the op itself sees the float32 graph's types.
      // (Explicit names: the builder's generated ones could collide with the source graph's.)
      const wide = inputs.map((v, i) => (v && inTypes[i] === 'float16' ? g.op('Cast', [v], { to: DataType.float32 }, { outputNames: [`${n.name}__in${i}_f32`] })[0] : v));
      const tmp = n.outputs.map((o) => `${o}__f32`);
      g.op(n.opType, wide, n.attrs, { domain: n.domain, outputNames: tmp });
      tmp.forEach((t, i) => {
        if (outType === 'float16') g.op('Cast', [{ name: t }], { to: DataType.float16 }, { outputNames: [outNames[i]!] });
        else g.op('Identity', [{ name: t }], {}, { outputNames: [outNames[i]!] });
      });
    } else {
      g.op(n.opType, inputs, n.attrs, opt);
    }
    n.outputs.forEach((o) => type.set(o, outType));
  }

  for (const o of outputs) {
    const t = type.get(o.name);
    if (o.dtype === 'float32' && t !== 'float16') throw new Error(`toFloat16: graph ${src.name}: output ${o.name} is ${t ?? 'unknown'}, expected a float`);
    if (castBack.has(o.name)) {
      g.op('Cast', [{ name: outName(o.name) }], { to: DataType.float32 }, { outputNames: [o.name] });
      g.output({ name: o.name }, o.name, 'float32', o.dims);
    } else {
      g.output({ name: o.name }, o.name, o.dtype === 'float32' ? 'float16' : o.dtype, o.dims);
    }
  }
  return g;
}
