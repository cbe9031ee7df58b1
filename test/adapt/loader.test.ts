import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { Packer, mixtureSampler, type PackableSample } from '../../src/adapt/sample/pack.ts';
import { jpegDegrade, loadDatasetSample, loadRecordSample, recordTileBudget } from '../../src/adapt/sample/record-sample.ts';
import { IGNORE_TOKEN_ID } from '../../src/adapt/sample/build.ts';
import { loadImage } from '../../src/image/index.ts';
import { loadTokenizer, type Tokenizer } from '../../src/tokenizer/index.ts';
import { minivlBatch } from '../helpers/cli.ts';
import { shared } from '../helpers/paths.ts';
import { rejectsWith, tempDir } from '../helpers/tmp.ts';

let tok: Tokenizer;
const TOK = shared('assets/tokenizers/internvl2-1b');
const ctxCount = (ids: number[]) => ids.filter((i) => i === tok.tokenToId('<IMG_CONTEXT>')).length;

async function images() {
  tok ??= await loadTokenizer(TOK);
  const dir = await tempDir();
  const mk = (name: string, w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toFile(join(dir, name));
  await mk('a.png', 800, 600);
  await mk('b.png', 1024, 1024);
  mkdirSync(join(dir, 'clip'));
  for (const f of ['f1.png', 'f2.png', 'f3.png']) await mk(join('clip', f), 64, 64);
  return dir;
}

test('loadRecordSample: single image — <image>\\n inserted, tiles of max_dynamic_patch, 256 tokens per tile, pixels', async () => {
  const root = await images();
  const rec = { image: 'a.png', conversations: [{ from: 'human', value: 'What?' }, { from: 'gpt', value: 'Red.' }] };
  const s = await loadRecordSample(rec, { tokenizer: tok, template: 'Hermes-2', root, maxDynamicPatch: 6, pixels: true });
  assert.equal(s.numTiles, 7); // 800x600 at max 6 → 3x2 + thumbnail (training.md §4.2)
  assert.deepEqual(s.numImageTokens, [1792]);
  assert.equal(ctxCount(s.inputIds), 1792);
  assert.deepEqual(s.imageFlags, [1, 1, 1, 1, 1, 1, 1]);
  assert.equal(s.pixelValues!.length, 7 * 3 * 448 * 448);
  assert.equal(tok.decode(s.labels.filter((l) => l !== IGNORE_TOKEN_ID)), 'Red.<|im_end|>');
  const at12 = await loadRecordSample(rec, { tokenizer: tok, template: 'Hermes-2', root });
  assert.equal(at12.numTiles, 13); // default 12 → 4x3 + thumbnail
});

test('loadRecordSample: multi-image budget max(1, floor(max/n)), text dummy tile, video frames', async () => {
  const root = await images();
  assert.equal(recordTileBudget(12, 2), 6);
  assert.equal(recordTileBudget(12, 13), 1);
  const multi = await loadRecordSample({ image: ['a.png', 'b.png'], conversations: [{ from: 'human', value: 'Image-1: <image>\nImage-2: <image>\nSame?' }, { from: 'gpt', value: 'No.' }] }, { tokenizer: tok, template: 'Hermes-2', root, maxDynamicPatch: 12 });
  assert.deepEqual(multi.numImageTokens, [7 * 256, 5 * 256]); // 800x600 at 6 → 7 tiles; 1024x1024 at 6 → 2x2 + 1
  const text = await loadRecordSample({ conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello.' }] }, { tokenizer: tok, template: 'Hermes-2', root, pixels: true });
  assert.deepEqual([text.numTiles, text.imageFlags, ctxCount(text.inputIds), text.pixelValues!.length], [1, [0], 0, 3 * 448 * 448]);
  const video = await loadRecordSample({ video: 'clip', conversations: [{ from: 'human', value: 'What happens?' }, { from: 'gpt', value: 'Nothing.' }] }, { tokenizer: tok, template: 'Hermes-2', root });
  assert.deepEqual([video.numTiles, ctxCount(video.inputIds)], [3, 768]);
  assert.match(tok.decode(video.inputIds), /user\nFrame-1: <img>(<IMG_CONTEXT>){256}<\/img>\nFrame-2: /);
});

test('loadRecordSample: image tokens cut by max length, and a missing image, are one-line errors', async () => {
  const root = await images();
  const rec = { image: 'a.png', conversations: [{ from: 'human', value: 'What?' }, { from: 'gpt', value: 'Red.' }] };
  await rejectsWith(loadRecordSample(rec, { tokenizer: tok, template: 'Hermes-2', root, maxLength: 500 }), /0 of 1 image\(s\) survive truncation to 500 tokens/);
  await rejectsWith(loadRecordSample({ ...rec, image: 'nope.png' }, { tokenizer: tok, template: 'Hermes-2', root }), /nope\.png: no such file/);
});

const S = (tokens: number, tiles: number, tag: string): PackableSample & { tag: string } => ({ inputIds: new Array(tokens).fill(7), labels: new Array(tokens).fill(-100), numTiles: tiles, tag });

test('Packer: first-fit into buffers sorted by tiles, emitted at the token limit, restarted positions', () => {
  const p = new Packer<ReturnType<typeof S>>({ maxTokens: 10, maxTiles: 4, maxBuffers: 20 });
  assert.deepEqual(p.push(S(4, 1, 'a')), []);
  assert.deepEqual(p.push(S(5, 2, 'b')), []); // merged into a: 9 tokens, 3 tiles
  assert.deepEqual(p.push(S(3, 1, 'c')), []); // 12 tokens would not fit: a new buffer
  const [pack] = p.push(S(1, 1, 'd')); // fits the first buffer: 10 tokens → emitted at once
  assert.deepEqual(pack!.samples.map((s) => s.tag), ['a', 'b', 'd']);
  assert.deepEqual(pack!.cuSeqlens, [0, 4, 9, 10]);
  assert.deepEqual(pack!.positionIds, [0, 1, 2, 3, 0, 1, 2, 3, 4, 0]);
  assert.deepEqual(pack!.dataIndex, [0, 0, 0, 0, 1, 1, 1, 1, 1, 2]);
  assert.equal(pack!.numTiles, 4);
  const rest = p.flush();
  assert.deepEqual(rest.map((r) => r.samples.map((s) => s.tag)), [['c']]);
});

test('Packer: full tile buffers emitted, the most-tiled buffer emitted over maxBuffers, unpackable samples reported', () => {
  const drops: string[] = [];
  const p = new Packer<ReturnType<typeof S>>({ maxTokens: 100, maxTiles: 4, maxBuffers: 1, onDrop: (_s, why) => drops.push(why) });
  assert.deepEqual(p.push(S(10, 3, 'a')), []);
  const out = p.push(S(10, 2, 'b')); // cannot join a (5 tiles): two buffers > maxBuffers → a (most tiles) goes
  assert.deepEqual(out.map((x) => x.samples.map((s) => s.tag)), [['a']]);
  const full = p.push(S(5, 2, 'c')); // b + c = 4 tiles = maxTiles → emitted
  assert.deepEqual(full.map((x) => x.samples.map((s) => s.tag)), [['b', 'c']]);
  assert.deepEqual(p.push(S(5, 5, 'd')), []);
  assert.deepEqual(drops, ['sample cannot be packed: 5 tiles > 4']);
  assert.equal(p.dropped, 1);
});

test('mixtureSampler: proportional to weights, exhausted datasets never drawn, reproducible', () => {
  const draw = (seed: number) => {
    const m = mixtureSampler([3, 0, 1], seed);
    return Array.from({ length: 4000 }, () => m.next()!);
  };
  const a = draw(1);
  assert.deepEqual(a, draw(1));
  assert.equal(a.filter((i) => i === 1).length, 0);
  const share0 = a.filter((i) => i === 0).length / a.length;
  assert.ok(share0 > 0.72 && share0 < 0.78, String(share0));
  const m = mixtureSampler([1, 1], 3);
  m.exhaust(0);
  assert.ok(Array.from({ length: 50 }, () => m.next()).every((i) => i === 1));
  m.exhaust(1);
  assert.equal(m.next(), undefined);
});

test('minivl adapt preview: the supervised span marked, the image written with its box; never overwrites', async () => {
  const root = await images();
  writeFileSync(join(root, 'g.jsonl'), `${JSON.stringify({ image: 'a.png', conversations: [{ from: 'human', value: '<image>\nFind it.' }, { from: 'gpt', value: '<ref>it</ref><box>[[100, 100, 500, 500]]</box>' }] })}\n`);
  const meta = join(root, 'm.json');
  writeFileSync(meta, JSON.stringify({ g: { root, annotation: join(root, 'g.jsonl'), data_augment: false, repeat_time: 1 } }));
  const out = join(root, 'p.png');
  const [withTok, again, plain, badIndex] = minivlBatch([
    ['adapt', 'preview', '--meta', meta, '--tokenizer', TOK, '--template', 'Hermes-2', '--out', out],
    ['adapt', 'preview', '--meta', meta, '--out', out],
    ['adapt', 'preview', '--meta', meta],
    ['adapt', 'preview', '--meta', meta, '--index', '5'],
  ]);
  assert.equal(withTok!.status, 0, withTok!.stderr);
  assert.match(withTok!.stdout, /tiles 13 \(image tokens 3328\)/);
  assert.match(withTok!.stdout, /<img><IMG_CONTEXT>×3328<\/img>\nFind it\.<\|im_end\|><\|im_start\|>assistant\n«<ref>it<\/ref><box>\[\[100, 100, 500, 500\]\]<\/box><\|im_end\|>»/);
  const img = await loadImage(out);
  const at = (x: number, y: number) => [...img.data.subarray((y * 800 + x) * 3, (y * 800 + x) * 3 + 3)];
  assert.deepEqual(at(80, 200), [255, 40, 40]); // the box's left edge at x = 0.1 · 800
  assert.deepEqual(at(300, 250), [200, 10, 10]); // inside the box: the image
  assert.equal(again!.status, 1);
  assert.match(again!.stderr, /p\.png exists; pass --force/);
  assert.match(plain!.stdout, /«<ref>it<\/ref><box>\[\[100, 100, 500, 500\]\]<\/box>»<\|im_end\|>/);
  assert.match(badIndex!.stderr, /^minivl: error: --index 5: g has 1 samples after repeat_time\n$/);
});

test('loadDatasetSample: a failing line is replaced by a random one (failures returned); 11 failures are an error', async () => {
  const root = await images();
  const good = JSON.stringify({ image: 'a.png', conversations: [{ from: 'human', value: 'Q' }, { from: 'gpt', value: 'A' }] });
  const bad = JSON.stringify({ image: 'gone.png', conversations: [{ from: 'human', value: 'Q' }, { from: 'gpt', value: 'A' }] });
  const lines = [bad, good].map((text, i) => ({ dataset: 'd', file: 'd.jsonl', lineNo: i + 1, text }));
  const r = await loadDatasetSample(lines, 0, { tokenizer: tok, template: 'Hermes-2', root }, { random: () => 0.99 });
  assert.equal(r.line.lineNo, 2);
  assert.equal(r.failures.length, 1);
  assert.deepEqual([r.failures[0]!.file, r.failures[0]!.lineNo], ['d.jsonl', 1]);
  assert.match(r.failures[0]!.message, /gone\.png: no such file/);
  await rejectsWith(loadDatasetSample([lines[0]!], 0, { tokenizer: tok, template: 'Hermes-2', root }, { random: () => 0 }), /^11 consecutive samples of d\.jsonl failed; the last: .*gone\.png/);
});

test('data_augment: tiles JPEG re-encoded at quality 75..100 (pixels change slightly, shape does not)', async () => {
  const root = await images();
  const w = 448, h = 448;
  const data = Buffer.alloc(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
  await sharp(data, { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(root, 'tex.png'));
  const rec = { image: 'tex.png', conversations: [{ from: 'human', value: 'Q' }, { from: 'gpt', value: 'A' }] };
  const plain = await loadRecordSample(rec, { tokenizer: tok, template: 'Hermes-2', root, pixels: true });
  const aug = await loadRecordSample(rec, { tokenizer: tok, template: 'Hermes-2', root, pixels: true, dataAugment: true, random: () => 0.999 });
  assert.equal(aug.pixelValues!.length, plain.pixelValues!.length);
  assert.deepEqual(aug.inputIds, plain.inputIds);
  let diff = 0;
  for (let i = 0; i < plain.pixelValues!.length; i++) diff += Math.abs(plain.pixelValues![i]! - aug.pixelValues![i]!);
  assert.ok(diff > 0, 'augmented pixels differ');
  const [t] = await jpegDegrade([{ width: 8, height: 8, data: new Uint8Array(192).fill(128) }], () => 0);
  assert.deepEqual([t!.width, t!.height, t!.data.length], [8, 8, 192]);
});
