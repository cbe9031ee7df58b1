import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { loadImage, dynamicPreprocess, toPixelValues } from '../../src/image/index.ts';
import { setResampleEngine } from '../../src/image/resample.ts';
import { GOLDEN, shared } from '../helpers/paths.ts';

interface GoldenCase {
  case: string; image: string; source_mode: string; width: number; height: number; max_num: number;
  use_thumbnail: boolean; grid: [number, number]; num_tiles: number; decoded_rgb_sha256: string;
  tiles_u8_file: string; tiles_u8_sha256: string[];
  pixel_values_stats: { shape: number[]; sum: number; abs_sum: number; first8: number[]; per_tile_channel_mean: number[][] };
}
const { cases } = JSON.parse(readFileSync(shared('golden/preprocess/cases.json'), 'utf8')) as { cases: GoldenCase[] };
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('golden cases cover PNG RGB/L/RGBA/P and JPEG', () => {
  assert.deepEqual([...new Set(cases.map((c) => c.source_mode))].sort(), ['L', 'P', 'RGB', 'RGBA']);
  assert.ok(cases.some((c) => c.image.endsWith('.jpg')));
});

for (const c of cases) {
  test(`golden preprocess ${c.case} (${c.source_mode}${c.image.endsWith('.jpg') ? ', JPEG' : ''})`, async () => {
    const img = await loadImage(shared('golden', c.image));
    assert.equal(img.width, c.width);
    assert.equal(img.height, c.height);
    // Decoder first (the JPEG case depends on it), then the tiles, byte for byte.
    assert.equal(sha(img.data), c.decoded_rgb_sha256, 'decoded RGB');
    const { grid, tiles } = dynamicPreprocess(img, { maxNum: c.max_num, useThumbnail: c.use_thumbnail });
    assert.deepEqual(grid, c.grid);
    assert.equal(tiles.length, c.num_tiles);
    const golden = gunzipSync(readFileSync(shared('golden', c.tiles_u8_file)));
    assert.equal(golden.length, c.num_tiles * 448 * 448 * 3);
    tiles.forEach((t, i) => {
      const g = golden.subarray(i * 448 * 448 * 3, (i + 1) * 448 * 448 * 3);
      assert.equal(sha(g), c.tiles_u8_sha256[i], `golden file tile ${i}`);
      if (sha(t.data) !== c.tiles_u8_sha256[i]) {
        let maxDiff = 0;
        let count = 0;
        for (let k = 0; k < g.length; k++) {
          const d = Math.abs(g[k]! - t.data[k]!);
          if (d) count++;
          if (d > maxDiff) maxDiff = d;
        }
        assert.fail(`tile ${i} differs: ${count} bytes, max |diff| ${maxDiff}`);
      }
    });
    const pv = toPixelValues(tiles);
    const st = c.pixel_values_stats;
    assert.equal(pv.length, st.shape.reduce((a, b) => a * b, 1));
    let sum = 0;
    let abs = 0;
    for (const v of pv) {
      sum += v;
      abs += Math.abs(v);
    }
    assert.ok(Math.abs(sum - st.sum) <= 1e-3 * Math.abs(st.sum), `sum ${sum} vs ${st.sum}`);
    assert.ok(Math.abs(abs - st.abs_sum) <= 1e-3 * st.abs_sum, `abs_sum ${abs} vs ${st.abs_sum}`);
    assert.deepEqual(Array.from(pv.subarray(0, 8)), st.first8);
    const plane = 448 * 448;
    st.per_tile_channel_mean.forEach((means, t) => means.forEach((m, ch) => {
      let s = 0;
      for (let i = 0; i < plane; i++) s += pv[(t * 3 + ch) * plane + i]!;
      assert.ok(Math.abs(s / plane - m) <= 1e-3 * Math.max(1, Math.abs(m)), `tile ${t} channel ${ch} mean ${s / plane} vs ${m}`);
    }));
  });
}

test('the TypeScript passes (fallback where WebAssembly is missing) reproduce every golden tile too', async () => {
  setResampleEngine('js');
  try {
    for (const c of cases) {
      const { tiles } = dynamicPreprocess(await loadImage(shared('golden', c.image)), { maxNum: c.max_num, useThumbnail: c.use_thumbnail });
      assert.deepEqual(tiles.map((t) => sha(t.data)), c.tiles_u8_sha256, c.case);
    }
  } finally {
    setResampleEngine('wasm');
  }
});

test('model input golden: pixel_values of wide_1920x1080 max_num=2 equal bit for bit', async () => {
  const buf = readFileSync(shared('golden/preprocess/model_input_wide_1920x1080_max2.safetensors'));
  const hlen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + hlen).toString('utf8'));
  const meta = header.pixel_values as { dtype: string; shape: number[]; data_offsets: [number, number] };
  assert.equal(meta.dtype, 'F32');
  const bytes = buf.subarray(8 + hlen + meta.data_offsets[0], 8 + hlen + meta.data_offsets[1]);
  const want = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const img = await loadImage(`${GOLDEN}/images/wide_1920x1080.png`);
  const { tiles } = dynamicPreprocess(img, { maxNum: 2 });
  const pv = toPixelValues(tiles);
  assert.deepEqual(meta.shape, [3, 3, 448, 448]);
  assert.equal(pv.length, want.length);
  let mism = 0;
  for (let i = 0; i < pv.length; i++) if (pv[i] !== want[i]) mism++;
  assert.equal(mism, 0);
});
