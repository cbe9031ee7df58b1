/**
 * Preprocessing speed: a 1920x1080 JPEG at max_num=12 (grid 4x2 + thumbnail = 9 tiles): decode (sharp) ->
 * Pillow-exact tiles -> normalized float32 [9, 3, 448, 448], with the WebAssembly SIMD resampler (default)
 * and with the TypeScript fallback. Run: node --import tsx bench/preprocess.ts [iterations]
 */
import { cpus, loadavg } from 'node:os';
import sharp from 'sharp';
import { loadImage, dynamicPreprocess, toPixelValues, preprocessImage } from '../src/image/index.ts';
import { setResampleEngine } from '../src/image/resample.ts';
import { GOLDEN } from '../test/helpers/paths.ts';
import { median } from './stats.ts';

const iters = Number(process.argv[2] ?? 20);
const jpeg = await sharp(`${GOLDEN}/images/wide_1920x1080.png`).jpeg({ quality: 90 }).toBuffer();
const cpu = cpus();
console.log(`machine: ${cpu[0]?.model ?? '?'} x${cpu.length}, node ${process.version}, sharp ${sharp.versions.sharp}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`input: 1920x1080 JPEG (${jpeg.length} bytes, q90 from golden wide_1920x1080.png), max_num=12, ${iters} iterations after 3 warm-up`);

for (const engine of ['wasm', 'js'] as const) {
  setResampleEngine(engine);
  for (let i = 0; i < 3; i++) await preprocessImage(jpeg, { maxNum: 12 });
  const t = { decode: [] as number[], tile: [] as number[], normalize: [] as number[], total: [] as number[] };
  let tiles = 0;
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    const img = await loadImage(jpeg);
    const t1 = performance.now();
    const r = dynamicPreprocess(img, { maxNum: 12 });
    const t2 = performance.now();
    toPixelValues(r.tiles);
    const t3 = performance.now();
    tiles = r.tiles.length;
    t.decode.push(t1 - t0);
    t.tile.push(t2 - t1);
    t.normalize.push(t3 - t2);
    t.total.push(t3 - t0);
  }
  console.log(`resampler: ${engine} — ${tiles} tiles`);
  for (const [k, v] of Object.entries(t)) console.log(`  ${k.padEnd(10)} median ${median(v).toFixed(1)} ms  min ${Math.min(...v).toFixed(1)} ms`);
}
