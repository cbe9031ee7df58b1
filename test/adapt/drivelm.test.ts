import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { cameraToStitched, CAMERAS, CAMERA_GRID, stitchedToCamera, tagsToCamera, tagsToStitched, type Camera } from '../../src/adapt/convert/ctag.ts';
import { drivelmFrameRecords, DRIVELM_TAG_INSTRUCTION } from '../../src/adapt/convert/drivelm.ts';
import { stitchCameras, LABEL_COLOR } from '../../src/adapt/convert/stitch.ts';
import { runConverter } from '../../src/adapt/convert/run.ts';
import { checkMeta } from '../../src/adapt/format/check.ts';
import { loadRecordSample } from '../../src/adapt/sample/record-sample.ts';
import { chooseGrid, dynamicPreprocess, loadImage, type RgbImage } from '../../src/image/index.ts';
import { loadTokenizer } from '../../src/tokenizer/index.ts';
import { ASSETS, shared } from '../helpers/paths.ts';
import { rejectsWith, tempDir } from '../helpers/tmp.ts';

const DRIVELM = join(ASSETS, 'datasets', 'drivelm');

test('c-tag conversion: the spec vectors, forward and back', () => {
  assert.deepEqual(cameraToStitched('CAM_BACK', 1088.3, 497.5), [560, 776]);
  assert.deepEqual(stitchedToCamera('CAM_BACK', 560, 776), [1088.0, 496.8]);
  assert.deepEqual(cameraToStitched('CAM_FRONT', 800.0, 450.0), [500, 250]);
  assert.deepEqual(stitchedToCamera('CAM_FRONT', 500, 250), [800.0, 450.0]);
  assert.equal(tagsToStitched('The ID of it is <c1,CAM_BACK,1088.3,497.5>.').text, 'The ID of it is <c1,CAM_BACK,[560,776]>.');
  assert.equal(tagsToCamera('<c1,CAM_BACK,[560,776]>'), '<c1,CAM_BACK,1088.0,496.8>');
  // evaluation.md §10.1 examples, including the integer clamp and the untouched unknown camera.
  assert.equal(tagsToCamera('<c1,CAM_FRONT,[500,250]>'), '<c1,CAM_FRONT,800.0,450.0>');
  assert.equal(tagsToCamera('<c3,CAM_BACK_LEFT,[100.5,900]>'), '<c3,CAM_BACK_LEFT,482.4,720.0>');
  assert.equal(tagsToCamera('<c2,CAM_FRONT_RIGHT,[990,10]>'), '<c2,CAM_FRONT_RIGHT,1552.0,18.0>');
  assert.equal(tagsToCamera('<c1,CAM_FRONT,[0,0]>'), '<c1,CAM_FRONT,0,0>');
  assert.equal(tagsToCamera('<c4,CAM_X,[1,2]>'), '<c4,CAM_X,[1,2]>');
  assert.deepEqual(tagsToStitched('<c1,CAM_BACK,1700.0,10.0> <c2,CAM_TOP,1,1>').problems, [
    '<c1,CAM_BACK,1700.0,10.0>: centre outside the 1600x900 camera image', '<c2,CAM_TOP,1,1>: unknown camera CAM_TOP']);
});

/** A camera view filled with one colour per camera. */
const colour = (cam: Camera): [number, number, number] => [CAMERAS.indexOf(cam) * 40 + 20, 200 - CAMERAS.indexOf(cam) * 30, 90];
function solid(w: number, h: number, c: [number, number, number]): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i += 3) data.set(c, i);
  return { width: w, height: h, data };
}
const px = (img: RgbImage, x: number, y: number) => [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];

test('stitching: 2688x896, each camera 896x448 at (col·896, row·448), magenta label at its top-left', () => {
  const views = Object.fromEntries(CAMERAS.map((c) => [c, solid(1600, 900, colour(c))])) as Record<Camera, RgbImage>;
  const img = stitchCameras(views);
  assert.equal(img.width, 2688);
  assert.equal(img.height, 896);
  for (const cam of CAMERAS) {
    const [col, row] = CAMERA_GRID[cam];
    for (const [dx, dy] of [[10, 440], [890, 100], [890, 447], [448, 224]]) assert.deepEqual(px(img, col * 896 + dx!, row * 448 + dy!), colour(cam), `${cam} +${dx},${dy}`);
    // The label's first glyph 'C' has ink at font pixel (1, 0) → image pixels 5..9 of the top rows.
    assert.deepEqual(px(img, col * 896 + 7, row * 448 + 2), [...LABEL_COLOR], `${cam} label`);
  }
  // The tile grid this image implies: 6x2 tiles (+ thumbnail), each tile exactly one half of one camera view.
  assert.deepEqual(chooseGrid(2688, 896, 1, 12), [6, 2]);
  const { tiles } = dynamicPreprocess(img, { maxNum: 12 });
  assert.equal(tiles.length, 13);
  tiles.slice(0, 12).forEach((t, k) => {
    const cam = CAMERAS.find((c) => CAMERA_GRID[c][0] === Math.floor((k % 6) / 2) && CAMERA_GRID[c][1] === Math.floor(k / 6))!;
    assert.deepEqual(px(t, 200, 300), colour(cam), `tile ${k} is ${cam}`);
  });
});

test('a DriveLM frame → records (pure): instruction, converted tags, ids, skipped QAs with locations', () => {
  const frame = {
    QA: {
      perception: [
        { Q: 'What is <c1,CAM_BACK,1088.3,497.5>?', A: 'A truck <c1,CAM_BACK,1088.3,497.5>.' },
        { Q: 'Empty?', A: '' },
      ],
      behavior: [{ Q: 'Where is <c2,CAM_FRONT,1800.0,10.0>?', A: 'Ahead.' }],
    },
  };
  const r = drivelmFrameRecords('S', 'F', frame, { image: 'stitch/S_F.jpg', location: 'in.json' });
  assert.deepEqual(r.records, [{
    id: 'S_F_0', image: 'stitch/S_F.jpg', width: 2688, height: 896,
    conversations: [
      { from: 'human', value: `<image>\n${DRIVELM_TAG_INSTRUCTION} What is <c1,CAM_BACK,[560,776]>?` },
      { from: 'gpt', value: 'A truck <c1,CAM_BACK,[560,776]>.' },
    ],
  }]);
  assert.deepEqual(r.skipped, [
    { location: 'in.json: S/F/QA.perception[1]', reason: 'empty answer' },
    { location: 'in.json: S/F/QA.behavior[0]', reason: 'object tag outside the camera image or unknown camera', detail: '<c2,CAM_FRONT,1800.0,10.0>: centre outside the 1600x900 camera image' },
  ]);
});

/** Stand-in camera images (real 1600x900 size) at every path the DriveLM files reference. */
async function standInCameras(base: string, files: string[], omit?: string): Promise<void> {
  for (const f of files) {
    const d = JSON.parse(readFileSync(join(DRIVELM, f), 'utf8'));
    for (const s of Object.values<{ key_frames: Record<string, { image_paths: Record<string, string> }> }>(d)) {
      for (const fr of Object.values(s.key_frames)) {
        for (const [cam, p] of Object.entries(fr.image_paths)) {
          const out = resolve(base, p);
          if (existsSync(out) || out === omit) continue;
          mkdirSync(dirname(out), { recursive: true });
          const c = colour(cam as Camera);
          await sharp({ create: { width: 1600, height: 900, channels: 3, background: { r: c[0], g: c[1], b: c[2] } } }).jpeg().toFile(out);
        }
      }
    }
  }
}

const countQAs = (f: string) => {
  const d = JSON.parse(readFileSync(join(DRIVELM, f), 'utf8'));
  let n = 0;
  for (const s of Object.values<any>(d)) for (const fr of Object.values<any>(s.key_frames)) for (const l of Object.values<any[]>(fr.QA)) n += l.length;
  return n;
};

test('DriveLM converter on both real challenge files: every QA converted, output passes adapt check, 13 tiles per sample', async () => {
  const dir = await tempDir();
  const images = join(dir, 'data');
  mkdirSync(images);
  await standInCameras(images, ['train_sample.json', 'test.json']);
  const out = join(dir, 'out');
  mkdirSync(out);
  const train = await runConverter('drivelm', { input: join(DRIVELM, 'train_sample.json'), out: join(out, 'train.jsonl'), images, force: false, flags: {} });
  assert.equal(train.source_records, countQAs('train_sample.json'));
  assert.equal(train.converted, 790);
  assert.equal(train.skipped, 0);
  assert.equal(train.images_written, 9);
  const test_ = await runConverter('drivelm', { input: join(DRIVELM, 'test.json'), out: join(out, 'test.jsonl'), images, force: false, flags: { split: 'val' } });
  assert.equal(test_.converted, countQAs('test.json'));
  assert.equal(test_.images_written, 0); // the same key frames: the stitched images are reused, not rewritten

  const lines = readFileSync(join(out, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 790);
  const withTag = lines.find((r) => r.conversations[1].value.includes('<c1,CAM_BACK,'));
  assert.ok(withTag, 'a converted c-tag answer');
  assert.doesNotMatch(readFileSync(join(out, 'train.jsonl'), 'utf8'), /<c\d+,CAM_[A-Z_]+,\d+(\.\d+)?,/); // no pixel tags left
  const val = readFileSync(join(out, 'test.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(val[0].question_old, JSON.parse(readFileSync(join(DRIVELM, 'test.json'), 'utf8'))['f0f120e4d4b0441da90ec53b16ee169d'].key_frames['4a0798f849ca477ab18009c3a20b7df2'].QA.perception[0].Q);

  const stitched = await loadImage(join(out, lines[0].image));
  assert.deepEqual([stitched.width, stitched.height], [2688, 896]);

  const meta = join(dir, 'meta.json');
  writeFileSync(meta, JSON.stringify({ ...train.meta, ...test_.meta }));
  const tok = await loadTokenizer(shared('assets', 'tokenizers', 'internvl2-1b'));
  const report = await checkMeta(meta, { tokenizers: [{ tokenizer: tok, template: 'Hermes-2', label: '1b' }] });
  assert.equal(report.ok, true, JSON.stringify(report.issues.slice(0, 3)));
  assert.equal(report.errors, 0);
  assert.equal(report.datasets[0]!.effective, 790);
  assert.equal(report.datasets[0]!.tokenLengths!['1b']!.count, 790);

  const s = await loadRecordSample(lines[0], { tokenizer: tok, template: 'Hermes-2', root: out });
  assert.equal(s.numTiles, 13);
  assert.deepEqual(s.numImageTokens, [3328]);
  assert.equal(s.inputIds.filter((id) => id === tok.tokenToId('<IMG_CONTEXT>')).length, 3328);

  // Never overwrites without --force; writes no temporary files beside the output.
  await rejectsWith(runConverter('drivelm', { input: join(DRIVELM, 'train_sample.json'), out: join(out, 'train.jsonl'), images, force: false, flags: {} }), /train\.jsonl exists; pass --force/);
  const again = await runConverter('drivelm', { input: join(DRIVELM, 'train_sample.json'), out: join(out, 'train.jsonl'), images, force: true, flags: {} });
  assert.equal(again.images_written, 9);
  assert.deepEqual(readdirSync(out).sort(), ['stitch', 'test.jsonl', 'train.jsonl']);
});

test('DriveLM converter: a frame with a missing camera image is skipped QA by QA, with locations', async () => {
  const dir = await tempDir();
  const images = join(dir, 'data');
  const src = JSON.parse(readFileSync(join(DRIVELM, 'test.json'), 'utf8'));
  const scene = 'f0f120e4d4b0441da90ec53b16ee169d';
  const frame = '4a0798f849ca477ab18009c3a20b7df2';
  const missing = resolve(images, src[scene].key_frames[frame].image_paths.CAM_BACK);
  mkdirSync(images);
  await standInCameras(images, ['test.json'], missing);
  const r = await runConverter('drivelm', { input: join(DRIVELM, 'test.json'), out: join(dir, 'o.jsonl'), images, force: false, flags: {} });
  const frameQAs = Object.values<unknown[]>(src[scene].key_frames[frame].QA).reduce((n, l) => n + l.length, 0);
  assert.equal(r.skipped, frameQAs);
  assert.equal(r.converted, countQAs('test.json') - frameQAs);
  assert.deepEqual(r.skipped_by_reason, { 'missing or unreadable camera image': frameQAs });
  assert.match(r.skipped_examples[0]!.location, new RegExp(`test\\.json: ${scene}/${frame}/QA\\.perception\\[0\\]$`));
  assert.match(r.skipped_examples[0]!.detail!, /CAM_BACK.*no such file/);
});
