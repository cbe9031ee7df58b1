// Builds the ONNX graphs of the five released configs with their REAL shapes but no weights
// (initializers declared from the inventory, never loaded, no session) and checks them against the
// inventory and the parameter counts of architecture.md §10.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parseModelConfig } from '../../src/model/config.ts';
import { expectedTensors, parameterCount } from '../../src/model/inventory.ts';
import { shapeOnlyWeights } from '../../src/model/weights.ts';
import { buildVisionGraph } from '../../src/model/vision.ts';
import { buildDecoderGraph, buildEmbedGraph } from '../../src/model/decoder.ts';
import type { Initializer } from '../../src/graph/builder.ts';
import { ROOT } from '../helpers/paths.ts';

// architecture.md §10.6.
const SPEC_PARAMS: Record<string, number> = {
  'internvl2-1b': 938_158_976,
  'internvl2-2b': 2_205_754_368,
  'internvl2-4b': 4_146_855_936,
  'mini-internvl-chat-2b-v1-5': 2_205_754_368,
  'mini-internvl-chat-4b-v1-5': 4_146_855_936,
};

for (const [name, specParams] of Object.entries(SPEC_PARAMS)) {
  test(`${name}: real-shape graphs declare exactly the inventory's tensors (${specParams.toLocaleString('en')} params)`, async () => {
    const path = `${ROOT}/test/fixtures/configs/${name}.json`;
    const cfg = parseModelConfig(JSON.parse(await readFile(path, 'utf8')), path);
    const inventory = expectedTensors(cfg);
    const src = shapeOnlyWeights(inventory);
    const graphs = [buildVisionGraph(cfg, src), buildEmbedGraph(cfg, src), buildDecoderGraph(cfg, src, { debugOutputs: true })];

    const weights = new Map<string, Initializer>();
    for (const g of graphs) {
      for (const init of g.listInitializers()) {
        if (init.role !== 'weight') continue;
        assert.ok(!weights.has(init.name), `${init.name} is declared by two graphs`);
        weights.set(init.name, init);
      }
      assert.ok(g.toBytes().byteLength < 4 << 20, 'graph protos stay small: weights are external');
    }
    assert.deepEqual([...weights.keys()].sort(), inventory.map((t) => t.name).sort());
    for (const t of inventory) {
      const w = weights.get(t.name)!;
      assert.deepEqual(w.dims, t.shape, t.name);
      assert.equal(w.dtype, 'bfloat16', t.name);
    }
    const declared = [...weights.values()].reduce((a, w) => a + w.dims.reduce((x, y) => x * y, 1), 0);
    assert.equal(declared, parameterCount(cfg).total);
    assert.equal(declared, specParams);
  });
}
