// Adaptation data benchmark: DriveLM conversion throughput (source QA records/s, with the six-camera
// stitching and with the stitched images already there), and `adapt check` on a JSONL of N lines
// (validation + image existence; then token lengths on a head cut), each next to a reference
// measured in the same run (bare JSON.parse of the same lines; sharp/libvips decode+resize of the views).
// Run: node --import tsx bench/adapt.ts [--dir /work/ckpt/adapt/bench] [--lines 100000]
import { cpus } from 'node:os';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { runConverter } from '../src/adapt/convert/run.ts';
import { checkMeta } from '../src/adapt/format/check.ts';
import { loadTokenizer } from '../src/tokenizer/index.ts';
import { ASSETS } from '../test/helpers/paths.ts';

const { values } = parseArgs({ options: { dir: { type: 'string', default: '/work/ckpt/adapt/bench' }, lines: { type: 'string', default: '100000' } } });
const dir = resolve(values.dir!);
const nLines = Number(values.lines);
const DRIVELM = join(ASSETS, 'datasets', 'drivelm', 'train_sample.json');
console.log(`machine: ${cpus()[0]?.model} x${cpus().length}, node ${process.version}; dir ${dir}`);

// --- DriveLM ---------------------------------------------------------------------------------
const images = join(dir, 'drivelm-data'); // image_paths are '../nuscenes/...' relative to it
mkdirSync(images, { recursive: true });
const src = JSON.parse(readFileSync(DRIVELM, 'utf8'));
const cameraFiles: string[] = [];
for (const s of Object.values<any>(src)) for (const f of Object.values<any>(s.key_frames)) for (const p of Object.values<string>(f.image_paths)) cameraFiles.push(resolve(images, p));
for (const [k, f] of cameraFiles.entries()) {
  if (existsSync(f)) continue;
  mkdirSync(dirname(f), { recursive: true });
  // Textured stand-ins (a noise field) so JPEG decode/encode costs are like real photos.
  const noise = Buffer.alloc(1600 * 900 * 3);
  let x = k + 1;
  for (let i = 0; i < noise.length; i++) noise[i] = ((x = (x * 1103515245 + 12345) >>> 0) >>> 24) & 0xff;
  await sharp(noise, { raw: { width: 1600, height: 900, channels: 3 } }).blur(3).jpeg({ quality: 90 }).toFile(f);
}
const out = join(dir, 'drivelm-out');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const fresh = await runConverter('drivelm', { input: DRIVELM, out: join(out, 'train.jsonl'), images, force: false, flags: {} });
const reuse = await runConverter('drivelm', { input: DRIVELM, out: join(out, 'train.jsonl'), images, force: true, flags: {} });
const reuse2 = await runConverter('drivelm', { input: DRIVELM, out: join(out, 'train2.jsonl'), images, force: false, flags: {} });
let t0 = performance.now();
for (const f of cameraFiles) await sharp(f).resize(896, 448, { kernel: 'cubic', fit: 'fill' }).raw().toBuffer();
const libvipsMs = performance.now() - t0;
const frames = cameraFiles.length / 6;
console.log(`drivelm convert (${fresh.source_records} QA records, ${frames} key frames, stitching): ${fresh.seconds}s = ${fresh.source_records_per_s} records/s (${(fresh.seconds / frames).toFixed(3)} s per frame)`);
console.log(`drivelm convert, --force re-stitch: ${reuse.seconds}s = ${reuse.source_records_per_s} records/s`);
console.log(`drivelm convert, stitched images reused: ${reuse2.seconds}s = ${reuse2.source_records_per_s} records/s`);
console.log(`reference: sharp decode + cubic resize of the ${cameraFiles.length} views alone: ${(libvipsMs / 1000).toFixed(3)}s (${(libvipsMs / frames / 1000).toFixed(3)} s per frame)`);

// --- adapt check on N lines ------------------------------------------------------------------
const data = join(dir, 'check');
mkdirSync(join(data, 'img'), { recursive: true });
const nImages = 1000;
for (let i = 0; i < nImages; i++) {
  const f = join(data, 'img', `${i}.jpg`);
  if (!existsSync(f)) await sharp({ create: { width: 640 + (i % 7) * 100, height: 480, channels: 3, background: { r: i % 255, g: 9, b: 9 } } }).jpeg().toFile(f);
}
const jsonl = join(data, `lines${nLines}.jsonl`);
if (!existsSync(jsonl)) {
  const parts: string[] = [];
  for (let i = 0; i < nLines; i++) {
    const kind = i % 10;
    const rec =
      kind < 6
        ? { id: i, image: `${i % nImages}.jpg`, width: 640, height: 480, conversations: [{ from: 'human', value: '<image>\nDetect <ref>the storage tank on the left</ref>' }, { from: 'gpt', value: `<ref>the storage tank on the left</ref><box>[[${i % 500}, 381, 791, 514]]</box>` }] }
        : kind < 8
          ? { id: i, image: [`${i % nImages}.jpg`, `${(i + 1) % nImages}.jpg`], conversations: [{ from: 'human', value: 'Image-1: <image>\nImage-2: <image>\nWhich image shows flooding?' }, { from: 'gpt', value: 'Image-2.' }, { from: 'human', value: 'Why?' }, { from: 'gpt', value: 'The water covers the road in the second image, while the first one is dry.' }] }
          : { id: i, conversations: [{ from: 'human', value: 'Define NDVI.' }, { from: 'gpt', value: 'The normalized difference vegetation index compares near-infrared and red reflectance.' }] };
    parts.push(JSON.stringify(rec));
  }
  writeFileSync(jsonl, `${parts.join('\n')}\n`);
}
const meta = join(data, 'meta.json');
writeFileSync(meta, JSON.stringify({ bench: { root: join(data, 'img'), annotation: jsonl, data_augment: false, repeat_time: 1, length: nLines } }));
t0 = performance.now();
for (const l of readFileSync(jsonl, 'utf8').split('\n')) if (l) JSON.parse(l);
const parseS = (performance.now() - t0) / 1000;
t0 = performance.now();
const rep = await checkMeta(meta);
const checkS = (performance.now() - t0) / 1000;
console.log(`adapt check, ${nLines} lines (validation + ${nImages} images' existence): ${checkS.toFixed(2)}s = ${Math.round(nLines / checkS)} lines/s; ok=${rep.ok} errors=${rep.errors}`);
console.log(`reference: JSON.parse of the same lines alone: ${parseS.toFixed(2)}s = ${Math.round(nLines / parseS)} lines/s`);
const headMeta = join(data, 'meta-head.json');
const head = 0.1;
writeFileSync(headMeta, JSON.stringify({ bench: { root: join(data, 'img'), annotation: jsonl, data_augment: false, repeat_time: head } }));
const tok = await loadTokenizer(join(ASSETS, 'tokenizers', 'internvl2-1b'));
t0 = performance.now();
const rep2 = await checkMeta(headMeta, { tokenizers: [{ tokenizer: tok, template: 'Hermes-2', label: '1b' }] });
const tokS = (performance.now() - t0) / 1000;
const used = rep2.datasets[0]!.effective;
console.log(`adapt check with token lengths (Hermes-2, 1b tokenizer), repeat_time ${head} → ${used} lines: ${tokS.toFixed(2)}s = ${Math.round(used / tokS)} lines/s; median ${rep2.datasets[0]!.tokenLengths!['1b']!.median} tokens`);
