// The float32 → float16 compute pass: on the real vision and decoder graphs it leaves no float32
// inside (only the Casts of the float32 interface), keeps the named cache inputs/outputs float16, and
// the result is a graph ONNX Runtime opens; on a small graph with every construct the pass handles
// (bf16 weight + Cast, a −inf mask constant, Softmax, LayerNorm, an external float32 initializer) the
// float16 graph computes the float32 graph's values to float16 accuracy on the WebGPU provider.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GraphBuilder, type DType } from '../../src/graph/builder.ts';
import { toFloat16 } from '../../src/graph/float16.ts';
import { DataType } from '../../src/graph/onnx-proto.ts';
import { f16ToF32, f32ToBf16 } from '../../src/io/dtype.ts';
import { openModelCheckpoint } from '../../src/model/inventory.ts';
import { checkpointWeights } from '../../src/model/weights.ts';
import { buildVisionGraph } from '../../src/model/vision.ts';
import { buildDecoderGraph, pastKeyName, pastValueName } from '../../src/model/decoder.ts';
import { lowerForWebGpu } from '../../src/runtime/webgpu-graph.ts';
import { exposeCacheOutputs } from '../../src/runtime/gpu-kv-decoder.ts';
import { probeWebGpuFloat16 } from '../../src/runtime/device.ts';
import { createSession, ort } from '../../src/runtime/session.ts';
import { relL2 } from '../../src/runtime/metrics.ts';
import { GOLDEN } from '../helpers/paths.ts';
import { tempDir } from '../helpers/tmp.ts';

const f16 = await probeWebGpuFloat16();
const noF16 = f16.available ? false : `no WebGPU adapter with float16 kernels here (${f16.reason})`;

/** The element types of a graph's float values by kind, to check the pass. */
function floatTypes(g: GraphBuilder): { inputs: Record<string, DType>; outputs: Record<string, DType>; float32Initializers: string[]; castsToFloat32: number } {
  return {
    inputs: Object.fromEntries(g.listInputs().map((i) => [i.name, i.dtype])),
    outputs: Object.fromEntries(g.listOutputs().map((o) => [o.name, o.dtype])),
    float32Initializers: g.listInitializers().filter((i) => i.dtype === 'float32').map((i) => i.name),
    castsToFloat32: g.listNodes().filter((n) => n.opType === 'Cast' && n.attrs.to === DataType.float32).length,
  };
}

test('the real vision and decoder graphs: no float32 left inside, cache I/O float16, the rest of the interface float32', async () => {
  const { ckpt, cfg } = await openModelCheckpoint(`${GOLDEN}/models/qwen2`);
  const src = checkpointWeights(ckpt);
  const vision = buildVisionGraph(cfg, src, { attention: 'unfused' });
  const decoder = buildDecoderGraph(cfg, src);
  lowerForWebGpu(vision);
  lowerForWebGpu(decoder);
  const where = exposeCacheOutputs(decoder, cfg.llm.numLayers)!;
  const cacheIo = [...Object.keys(where).filter((n) => n.startsWith('cache_')), ...Array.from({ length: cfg.llm.numLayers }, (_, i) => [pastKeyName(i), pastValueName(i)]).flat()];
  const before = decoder.toBytes();
  const v16 = toFloat16(vision);
  const d16 = toFloat16(decoder, { float16Io: cacheIo });
  assert.deepEqual(decoder.toBytes(), before, 'the source graph is left as it was');

  for (const [g, src32] of [[v16, vision], [d16, decoder]] as const) {
    const t = floatTypes(g);
    assert.deepEqual(t.float32Initializers, [], `${g.name}: float32 initializers`);
    // Every float32 value left is an interface value: a float32 input (cast at once) or an output (cast at the end).
    const f32Outputs = src32.listOutputs().filter((o) => o.dtype === 'float32' && !cacheIo.includes(o.name)).map((o) => o.name);
    const casts32 = g.listNodes().filter((n) => n.opType === 'Cast' && n.attrs.to === DataType.float32);
    assert.deepEqual(casts32.map((n) => n.outputs[0]).sort(), [...f32Outputs].sort(), `${g.name}: Casts to float32 only make the float32 outputs`);
    const castsFromInputs = g.listNodes().filter((n) => n.opType === 'Cast' && g.listInputs().some((i) => i.name === n.inputs[0]));
    const f32Inputs = g.listInputs().filter((i) => i.dtype === 'float32').map((i) => i.name);
    assert.deepEqual(castsFromInputs.map((n) => n.inputs[0]).sort(), [...f32Inputs].sort(), `${g.name}: each float32 input is cast once`);
    assert.ok(castsFromInputs.every((n) => n.attrs.to === DataType.float16));
    // The stored bf16 weights are widened to float16, not float32.
    const widen = g.listNodes().filter((n) => n.opType === 'Cast' && g.listInitializers().some((i) => i.name === n.inputs[0] && i.dtype === 'bfloat16'));
    assert.ok(widen.length > 10 && widen.every((n) => n.attrs.to === DataType.float16), `${g.name}: ${widen.length} bf16 weight Casts`);
  }
  const t = floatTypes(d16);
  assert.equal(t.inputs[pastKeyName(0)], 'float16');
  assert.equal(t.inputs.inputs_embeds, 'float32');
  assert.equal(t.inputs.past_mask, 'float32');
  assert.equal(t.inputs.logits_positions, 'int64');
  assert.equal(t.outputs.cache_key_0, 'float16');
  assert.equal(t.outputs.present_key_0, 'float32');
  assert.equal(t.outputs.logits, 'float32');
  assert.equal(floatTypes(v16).outputs.vit_embeds, 'float32');
  // A graph ONNX Runtime opens (shapes and types check out); on the WebGPU provider where float16 runs.
  if (f16.available) {
    for (const g of [v16, d16]) await (await createSession(g.toBytes(), { device: 'webgpu', externalFolder: src.externalFolder, label: g.name })).release();
  }
});

/** x [2, 4] → LayerNorm(Softmax(x·Wᵀ + mask) · 8 + c) with W stored bf16, c an external float32 initializer. */
async function smallGraph(dir: string): Promise<GraphBuilder> {
  const g = new GraphBuilder('small');
  const x = g.input('x', 'float32', [2, 4]);
  const w = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i + 1) * 0.8);
  const wb = g.initializer({ name: 'w', dtype: 'bfloat16', dims: [3, 4], data: { kind: 'raw', bytes: new Uint8Array(f32ToBf16(w).buffer) } });
  await writeFile(join(dir, 'c.bin'), new Uint8Array(Float32Array.from([0.5, -0.25, 1]).buffer));
  const c = g.initializer({ name: 'c', dtype: 'float32', dims: [3], data: { kind: 'external', location: 'c.bin', offset: 0, length: 12 } });
  const mask = g.op1('Where', [g.op1('Less', [g.constF32([0, 1, 2], [3]), g.constF32([2], [])]), g.constF32([0], []), g.constF32([-Infinity], [])]);
  const s = g.softmax(g.add(g.linear(x, g.cast(wb, 'float32')), mask), -1);
  const y = g.layerNorm(g.add(g.mul(s, g.constF32([8], [])), c), g.constF32([1, 1.5, 2], [3]), g.constF32([0, 0.1, 0], [3]), 1e-5);
  g.output(y, 'y', 'float32', [2, 3]);
  lowerForWebGpu(g);
  return g;
}

test('the −inf mask constant becomes float16 lowest (−65504), the external float32 initializer gets a Cast', async () => {
  const dir = await tempDir();
  const g16 = toFloat16(await smallGraph(dir));
  const consts = g16.listInitializers().filter((i) => i.dtype === 'float16' && i.dims.length === 0 && i.data.kind === 'raw');
  const values = consts.map((i) => f16ToF32(new Uint16Array((i.data as { bytes: Uint8Array }).bytes.slice().buffer))[0]);
  assert.ok(values.includes(-65504), `scalar constants ${values.join(', ')}`);
  assert.ok(!values.some((v) => !Number.isFinite(v)));
  const c = g16.listInitializers().find((i) => i.name === 'c')!;
  assert.equal(c.dtype, 'float32');
  assert.ok(g16.listNodes().some((n) => n.opType === 'Cast' && n.inputs[0] === 'c' && n.attrs.to === DataType.float16));
});

test('keepFloat32 computes an op in float32 between Casts; an op holding tensor attributes is refused', async () => {
  const g16 = toFloat16(await smallGraph(await tempDir()), { keepFloat32: [':Softmax'] });
  const nodes = g16.listNodes();
  const sm = nodes.find((n) => n.opType === 'Softmax')!;
  const producer = nodes.find((n) => n.outputs.includes(sm.inputs[0]!))!;
  assert.equal(producer.opType, 'Cast');
  assert.equal(producer.attrs.to, DataType.float32);
  const consumer = nodes.find((n) => n.inputs.includes(sm.outputs[0]!))!;
  assert.equal(consumer.opType, 'Cast');
  assert.equal(consumer.attrs.to, DataType.float16);
  const bad = new GraphBuilder('bad');
  bad.output(bad.op1('ConstantOfShape', [bad.constI64([2])]), 'y', 'float32');
  assert.throws(() => toFloat16(bad), /ConstantOfShape .* holds values this pass cannot convert/);
});

test('the float16 graph computes the float32 values to float16 accuracy (WebGPU, every node on the GPU)', { skip: noF16 }, async () => {
  const dir = await tempDir();
  const g = await smallGraph(dir);
  const x = new ort.Tensor('float32', Float32Array.from({ length: 8 }, (_, i) => Math.cos(i) * 2), [2, 4]);
  const ref = (await (await createSession(g.toBytes(), { externalFolder: dir })).run({ x })).y!.data as Float32Array;
  const s16 = await ort.InferenceSession.create(toFloat16(g).toBytes(), {
    executionProviders: ['webgpu'],
    logSeverityLevel: 3,
    extra: { session: { model_external_initializers_file_folder_path: dir, disable_cpu_ep_fallback: '1' } },
  });
  const y = (await s16.run({ x })).y!;
  assert.equal(y.type, 'float32');
  const got = y.data as Float32Array;
  assert.ok(relL2(got, ref) < 2e-3, `rel-L2 ${relL2(got, ref)}: ${Array.from(got)} vs ${Array.from(ref)}`);
  await s16.release();
});

