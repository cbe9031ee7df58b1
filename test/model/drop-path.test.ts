// Drop path (training.md §8.1): per-layer rates linspace(0, R, N); masks [T, 1, 1] per residual
// branch through the vision builder's hook. Keep-all masks give exactly the graph without drop path;
// a dropped branch gives exactly the block without that branch (its layer scale zeroed), per tile;
// the masks' values, rates and determinism; and the training graph with keep-all masks matches the
// one without drop path bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SafetensorsFile } from '../../src/io/safetensors.ts';
import { openModelCheckpoint } from '../../src/model/inventory.ts';
import { checkpointWeights, type WeightSource } from '../../src/model/weights.ts';
import { buildVisionGraph, VISION_OUTPUT } from '../../src/model/vision.ts';
import { dropPathHook, dropPathInputName, dropPathRates, type DropPathInput } from '../../src/model/drop-path.ts';
import { dropPathMasks } from '../../src/adapt/train/drop-path.ts';
import { TrainingSession } from '../../src/runtime/training.ts';
import { createSession, ort } from '../../src/runtime/session.ts';
import { GOLDEN } from '../helpers/paths.ts';

const DIR = `${GOLDEN}/models/qwen2`;
const PIXELS = `${GOLDEN}/preprocess/model_input_wide_1920x1080_max2.safetensors`;
const TILE = 3 * 448 * 448;

test('per-layer rates are linspace(0, R, layers)', () => {
  const r = dropPathRates(0.1, 24);
  assert.equal(r.length, 24);
  assert.equal(r[0], 0);
  assert.equal(r[23], 0.1);
  assert.ok(Math.abs(r[12]! - 0.1 * 12 / 23) < 1e-15);
  assert.deepEqual(dropPathRates(0.4, 2), [0, 0.4]);
  assert.deepEqual(dropPathRates(0.3, 1), [0]);
});

test('masks: values 0 or 1/(1−p), the drop share near p, independent per branch and tile, a function of (seed, micro-batch)', () => {
  const inputs: DropPathInput[] = [
    { name: 'a', layer: 1, branch: 'attn', rate: 0.25 },
    { name: 'b', layer: 1, branch: 'mlp', rate: 0.25 },
  ];
  const tiles = 20000;
  const m = dropPathMasks(inputs, tiles, 42, 7);
  const keep = 1 / 0.75;
  for (const v of m.values()) {
    assert.ok(v.every((x) => x === 0 || x === Math.fround(keep)));
    const dropped = v.filter((x) => x === 0).length / tiles;
    // 4σ of a binomial share at n = 20000, p = 0.25: 0.0122.
    assert.ok(Math.abs(dropped - 0.25) < 0.0122, `dropped share ${dropped}`);
  }
  const [a, b] = [m.get('a')!, m.get('b')!];
  let both = 0;
  for (let i = 0; i < tiles; i++) if (a[i] === 0 && b[i] === 0) both++;
  assert.ok(Math.abs(both / tiles - 0.0625) < 0.007, `both dropped ${both / tiles}`);
  assert.deepEqual(dropPathMasks(inputs, tiles, 42, 7), m);
  assert.notDeepEqual(dropPathMasks(inputs, tiles, 42, 8).get('a'), a);
  assert.notDeepEqual(dropPathMasks(inputs, tiles, 43, 7).get('a'), a);
});

/** The checkpoint's weights with `zeroed` replaced by zeros of the same shape (float32). */
function withZeroed(src: WeightSource, zeroed: string): WeightSource {
  return {
    externalFolder: src.externalFolder,
    ref(name) {
      const r = src.ref(name);
      if (name !== zeroed) return r;
      return { name, dtype: 'F32', shape: r.shape, data: { kind: 'raw', bytes: new Uint8Array(4 * r.shape.reduce((x, y) => x * y, 1)) } };
    },
  };
}

test('vision graph: keep-all masks equal no drop path exactly; a dropped branch equals that branch removed, per tile', async () => {
  const { ckpt, cfg } = await openModelCheckpoint(DIR);
  const src = checkpointWeights(ckpt);
  const pv = (await (await SafetensorsFile.open(PIXELS)).readFloat32('pixel_values')).slice(0, 2 * TILE);
  const inputs: DropPathInput[] = [];
  const hooked = buildVisionGraph(cfg, src, { residualBranchScale: dropPathHook(0.5, cfg.vision.numLayers, inputs) });
  // 2 layers: rates [0, 0.5], so only layer 1 has masks.
  assert.deepEqual(inputs.map((i) => i.name), [dropPathInputName(1, 'attn'), dropPathInputName(1, 'mlp')]);
  // Without a hook (or with one that adds nothing) the graph is the inference graph, byte for byte.
  assert.deepEqual(buildVisionGraph(cfg, src, { residualBranchScale: () => undefined }).toBytes(), buildVisionGraph(cfg, src).toBytes());

  const run = async (graph: ReturnType<typeof buildVisionGraph>, masks: Record<string, number[]> = {}) => {
    const s = await createSession(graph.toBytes(), { externalFolder: src.externalFolder, intraOpNumThreads: 1 });
    const feeds: Record<string, ort.Tensor> = { pixel_values: new ort.Tensor('float32', pv, [2, 3, 448, 448]) };
    for (const [k, v] of Object.entries(masks)) feeds[k] = new ort.Tensor('float32', Float32Array.from(v), [2, 1, 1]);
    const out = (await s.run(feeds))[VISION_OUTPUT]!.data as Float32Array;
    await s.release();
    return out;
  };
  const half = (x: Float32Array, t: number) => x.subarray((t * x.length) / 2, ((t + 1) * x.length) / 2);
  const attn = dropPathInputName(1, 'attn');
  const mlp = dropPathInputName(1, 'mlp');
  const plain = await run(buildVisionGraph(cfg, src));
  assert.deepEqual(await run(hooked, { [attn]: [1, 1], [mlp]: [1, 1] }), plain);

  // Tile 0 drops layer 1's attention branch, tile 1 its MLP branch.
  const dropped = await run(hooked, { [attn]: [0, 1], [mlp]: [1, 0] });
  const noAttn = await run(buildVisionGraph(cfg, withZeroed(src, 'vision_model.encoder.layers.1.ls1')));
  const noMlp = await run(buildVisionGraph(cfg, withZeroed(src, 'vision_model.encoder.layers.1.ls2')));
  assert.deepEqual(half(dropped, 0), half(noAttn, 0));
  assert.deepEqual(half(dropped, 1), half(noMlp, 1));
  assert.notDeepEqual(half(dropped, 0), half(plain, 0));
});

test('training graph: drop path with keep-all masks gives the loss and gradients of the graph without it, bit for bit', async () => {
  const gold = await SafetensorsFile.open(`${DIR}/lora_golden.safetensors`);
  const pixelValues = (await (await SafetensorsFile.open(PIXELS)).readFloat32('pixel_values')).subarray(0, TILE);
  const batch = { inputIds: await gold.readIntegers('input_ids'), labels: await gold.readIntegers('labels'), pixelValues, imgContextId: 510 };
  const trainable = ['mlp1.1.weight', 'vision_model.encoder.layers.1.mlp.fc2.weight'];
  const [plain, dp] = await Promise.all([0, 0.1].map((rate) => TrainingSession.create(DIR, { vision: true, trainable, dropPathRate: rate, intraOpNumThreads: 1 })));
  try {
    assert.equal(plain!.graph.dropPath.length, 0);
    assert.deepEqual(dp!.graph.dropPath.map((d) => [d.layer, d.branch, d.rate]), [[1, 'attn', 0.1], [1, 'mlp', 0.1]]);
    const values = new Map(await Promise.all(trainable.map(async (n) => [n, await plain!.checkpoint.readFloat32(n)] as const)));
    const a = await plain!.step(batch, values);
    const b = await dp!.step({ ...batch, masks: new Map(dp!.graph.dropPath.map((d) => [d.name, new Float32Array([1])])) }, values);
    assert.equal(b.loss, a.loss);
    for (const n of trainable) assert.deepEqual(b.grads.get(n), a.grads.get(n));
    // A dropped branch changes the loss, and ViT weights on it get no gradient from that branch.
    const c = await dp!.step({ ...batch, masks: new Map(dp!.graph.dropPath.map((d) => [d.name, new Float32Array([d.branch === 'mlp' ? 0 : 1])])) }, values);
    assert.notEqual(c.loss, a.loss);
    assert.ok(c.grads.get('vision_model.encoder.layers.1.mlp.fc2.weight')!.every((x) => x === 0));
    await assert.rejects(() => dp!.step(batch, values), /no drop-path mask/);
  } finally {
    await Promise.all([plain!.release(), dp!.release()]);
  }
});
