import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { ModelProto } from '../../src/graph/onnx-proto.ts';
import { createSession, ort } from '../../src/runtime/session.ts';
import { writeSafetensors, SafetensorsFile } from '../../src/io/safetensors.ts';
import { f32ToBf16, bf16ToF32 } from '../../src/io/dtype.ts';
import { tempDir } from '../helpers/tmp.ts';

const X = Float32Array.from([1, 2, 3, 4, -1, 0, 1, 2]);

test('serializes a ModelProto with symbolic dims, opsets and attributes', () => {
  const g = new GraphBuilder('t');
  const x = g.input('x', 'float32', ['S', 4]);
  g.output(g.layerNorm(x, g.constF32([1, 1, 1, 1]), g.constF32([0, 0, 0, 0]), 1e-5), 'y', 'float32', ['S', 4]);
  g.op1('Identity', [x], {}, 'com.microsoft');
  const m = ModelProto.toObject(ModelProto.decode(g.toBytes()), { longs: Number }) as any;
  assert.equal(m.graph.input[0].type.tensorType.shape.dim[0].dimParam, 'S');
  assert.equal(m.graph.input[0].type.tensorType.shape.dim[1].dimValue, 4);
  assert.deepEqual(m.opsetImport.map((o: any) => o.domain ?? ''), ['', 'com.microsoft']);
  const ln = m.graph.node.find((n: any) => n.opType === 'LayerNormalization');
  assert.ok(Math.abs(ln.attribute.find((a: any) => a.name === 'epsilon').f - 1e-5) < 1e-12);
  // Identical small constants are shared.
  assert.equal(m.graph.initializer.length, 2);
});

test('rejects duplicate names, non-integer int attributes and wrong initializer sizes', () => {
  const g = new GraphBuilder('t');
  g.input('x', 'float32', [2]);
  assert.throws(() => g.input('x', 'float32', [2]), /duplicate value name 'x'/);
  g.op1('Softmax', [{ name: 'x' }], { axis: 0.5 });
  assert.throws(() => g.toBytes(), /not an integer/);
  assert.throws(
    () => g.initializer({ name: 'w', dtype: 'bfloat16', dims: [3], data: { kind: 'raw', bytes: new Uint8Array(4) } }),
    /4 bytes for bfloat16\[3\] \(expected 6\)/,
  );
});

test('RMSNorm, exact GELU and SiLU run on ORT and match the formulas', async () => {
  const g = new GraphBuilder('t');
  const x = g.input('x', 'float32', ['S', 4]);
  const w = g.constF32([1, 2, 3, 4]);
  g.output(g.rmsNorm(x, w, 1e-6), 'r', 'float32');
  g.output(g.gelu(x), 'ge', 'float32');
  g.output(g.silu(x), 'si', 'float32');
  const s = await createSession(g.toBytes());
  const out = await s.run({ x: new ort.Tensor('float32', X, [2, 4]) });
  for (let r = 0; r < 2; r++) {
    const row = X.subarray(r * 4, r * 4 + 4);
    const rms = Math.sqrt(row.reduce((a, v) => a + v * v, 0) / 4 + 1e-6);
    for (let i = 0; i < 4; i++) {
      assert.ok(Math.abs((out.r!.data as Float32Array)[r * 4 + i]! - (row[i]! / rms) * (i + 1)) < 1e-6);
    }
  }
  // GELU(1) = 0.5·(1 + erf(1/√2)) = 0.8413447460685429 (exact, not the tanh approximation 0.8411920).
  assert.ok(Math.abs((out.ge!.data as Float32Array)[0]! - 0.8413447460685429) < 1e-6);
  assert.ok(Math.abs((out.si!.data as Float32Array)[0]! - 1 / (1 + Math.exp(-1))) < 1e-6);
  await s.release();
});

test('external initializers read F32 and BF16 straight from a safetensors file (BF16 → Cast)', async () => {
  const dir = await tempDir('minivl-graph-');
  const a = Float32Array.from([0.5, -1.25, 3, 7.75, 1e-3, -2]);
  const b = bf16ToF32(f32ToBf16(Float32Array.from([1.1, -2.2, 3.3, 0.0078125, 100, -0.3])));
  // A leading odd-sized tensor makes the data offsets unaligned.
  await writeSafetensors(join(dir, 'w.safetensors'), [
    { name: 'pad', dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
    { name: 'a', dtype: 'F32', shape: [2, 3], data: a },
    { name: 'b', dtype: 'BF16', shape: [2, 3], data: b },
  ]);
  const f = await SafetensorsFile.open(join(dir, 'w.safetensors'));
  const before = (await readdir(dir)).sort();
  const g = new GraphBuilder('t');
  const ext = (name: string, dtype: 'float32' | 'bfloat16') => {
    const i = f.info(name);
    return g.initializer({ name, dtype, dims: i.shape, data: { kind: 'external', location: 'w.safetensors', offset: i.offset, length: i.byteLength } });
  };
  const x = g.input('x', 'float32', [2, 3]);
  g.output(g.add(x, ext('a', 'float32')), 'ya', 'float32');
  g.output(g.add(x, g.cast(ext('b', 'bfloat16'), 'float32')), 'yb', 'float32');
  const s = await createSession(g.toBytes(), { externalFolder: dir });
  const zero = new ort.Tensor('float32', new Float32Array(6), [2, 3]);
  const out = await s.run({ x: zero });
  assert.deepEqual(Array.from(out.ya!.data as Float32Array), Array.from(a));
  assert.deepEqual(Array.from(out.yb!.data as Float32Array), Array.from(b));
  await s.release();
  assert.deepEqual((await readdir(dir)).sort(), before, 'nothing is written into the weights folder');
});

test('a session that cannot be created is a one-line MinivlError', async () => {
  const g = new GraphBuilder('t');
  const x = g.input('x', 'float32', [2]);
  g.output(g.op1('NoSuchOp', [x]), 'y', 'float32');
  await assert.rejects(createSession(g.toBytes(), { label: 'probe' }), (e: Error) => e.name === 'MinivlError' && /^probe: ONNX Runtime could not create the session/.test(e.message) && !e.message.includes('\n'));
});
