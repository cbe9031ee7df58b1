import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { pixelShuffle } from '../../src/model/vision.ts';
import { createSession, ort } from '../../src/runtime/session.ts';

// The closed form of architecture.md §4 on a small grid: out[t, s, k] with k = dy·2C + dx·C + c.
function closedForm(F: Float32Array, T: number, grid: number, C: number, version: 'v1' | 'v2'): Float32Array {
  const a = grid / 2;
  const out = new Float32Array(T * a * a * 4 * C);
  for (let t = 0; t < T; t++) {
    for (let s = 0; s < a * a; s++) {
      const R = version === 'v2' ? Math.floor(s / a) : s % a;
      const Cc = version === 'v2' ? s % a : Math.floor(s / a);
      for (let k = 0; k < 4 * C; k++) {
        const dy = Math.floor(k / (2 * C));
        const dx = Math.floor((k % (2 * C)) / C);
        const c = k % C;
        const p = (2 * R + dy) * grid + (2 * Cc + dx);
        out[(t * a * a + s) * 4 * C + k] = F[(t * grid * grid + p) * C + c]!;
      }
    }
  }
  return out;
}

for (const version of ['v1', 'v2'] as const) {
  test(`pixel shuffle ${version} matches the closed form of the spec`, async () => {
    const T = 2, grid = 6, C = 3;
    const g = new GraphBuilder('ps');
    const x = g.input('x', 'float32', ['T', grid * grid, C]);
    const ps = pixelShuffle(g, x, grid, C, 0.5, version);
    assert.equal(ps.tokens, 9);
    assert.equal(ps.channels, 12);
    g.output(ps.value, 'y', 'float32');
    const s = await createSession(g.toBytes());
    const F = Float32Array.from({ length: T * grid * grid * C }, (_, i) => i);
    const out = await s.run({ x: new ort.Tensor('float32', F, [T, grid * grid, C]) });
    assert.deepEqual(Array.from(out.y!.data as Float32Array), Array.from(closedForm(F, T, grid, C, version)));
    await s.release();
  });
}
