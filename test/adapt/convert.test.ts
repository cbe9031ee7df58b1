import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { runConverter } from '../../src/adapt/convert/run.ts';
import { rewriteGeoChat, parseVocXml } from '../../src/adapt/convert/remote-sensing.ts';
import { classificationQuestion } from '../../src/adapt/convert/classification.ts';
import type { ConvertFlags } from '../../src/adapt/convert/types.ts';
import { checkMeta } from '../../src/adapt/format/check.ts';
import { minivlBatch } from '../helpers/cli.ts';
import { rejectsWith, tempDir } from '../helpers/tmp.ts';

async function image(path: string, w = 64, h = 48): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const s = sharp({ create: { width: w, height: h, channels: 3, background: { r: 90, g: 120, b: 30 } } });
  await (path.endsWith('.tif') ? s.tiff() : path.endsWith('.png') ? s.png() : s.jpeg()).toFile(path);
}
function write(path: string, text: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}
const jsonl = (path: string) => readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

let runs = 0;
async function convert(from: string, input: string, images: string, flags: ConvertFlags = {}) {
  const out = join(dirname(input), `${from}-out${++runs}.jsonl`);
  const summary = await runConverter(from, { input, out, images, force: false, flags });
  // Every converter's output passes adapt check (images exist under the meta root it suggests).
  const meta = write(join(dirname(input), `${from}-meta${runs}.json`), JSON.stringify(summary.meta));
  const report = await checkMeta(meta);
  assert.equal(report.errors, 0, JSON.stringify(report.issues));
  return { summary, records: jsonl(out) };
}

test('classification: the spec example, exact record; unknown label and missing image skipped with location', async () => {
  const dir = await tempDir();
  await image(join(dir, 'UCM/tenniscourt07.tif'));
  await image(join(dir, 'UCM/beach01.tif'));
  const csv = write(join(dir, 'ucm.csv'), 'id,file,label\nucm-tenniscourt07,UCM/tenniscourt07.tif,tennis court\nx,UCM/beach01.tif,desert\ny,UCM/gone.tif,beach\n');
  const { summary, records } = await convert('classification', csv, dir, { labels: 'agricultural,airplane,baseball diamond,beach,tennis court', imageField: 'file' });
  assert.deepEqual(records, [{
    id: 'ucm-tenniscourt07', image: 'UCM/tenniscourt07.tif',
    conversations: [
      { from: 'human', value: '<image>\nClassify the image within one of the given classes: agricultural, airplane, baseball diamond, beach, tennis court. Answer with one word or short phrase.' },
      { from: 'gpt', value: 'tennis court' },
    ],
  }]);
  assert.deepEqual(summary.skipped_by_reason, { 'label not among the candidate labels': 1, 'missing image': 1 });
  assert.equal(summary.skipped_examples[0]!.location, `${csv}:3`);
  assert.equal(summary.skipped_examples[1]!.location, `${csv}:4`);
  assert.equal(classificationQuestion(['a', 'b']), '<image>\nClassify the image within one of the given classes: a, b. Answer with one word or short phrase.');
});

test('classification, lettered variant: options lettered, answer the letter', async () => {
  const dir = await tempDir();
  await image(join(dir, 'a.jpg'));
  const f = write(join(dir, 'c.jsonl'), `${JSON.stringify({ image: 'a.jpg', label: 'The ego vehicle is going straight.' })}\n`);
  const { records } = await convert('classification', f, dir, { labels: 'The ego vehicle is turning left.,The ego vehicle is going straight.', lettered: true, prefix: 'Predict the behavior of the ego vehicle. Please select the correct answer from the following options: ' });
  assert.deepEqual(records[0].conversations, [
    { from: 'human', value: '<image>\nPredict the behavior of the ego vehicle. Please select the correct answer from the following options: A. The ego vehicle is turning left. B. The ego vehicle is going straight.' },
    { from: 'gpt', value: 'B' },
  ]);
});

const voc = (file: string, objects: Array<[string, number[]]>) => `<annotation>\n  <filename>${file}</filename>\n  <size>\n    <width>800</width>\n    <height>800</height>\n    <depth>3</depth>\n  </size>\n${objects.map(([d, b]) => `  <object>\n    <name>storagetank</name>\n    <bndbox>\n      <xmin>${b[0]}</xmin>\n      <ymin>${b[1]}</ymin>\n      <xmax>${b[2]}</xmax>\n      <ymax>${b[3]}</ymax>\n    </bndbox>\n    <description>${d}</description>\n  </object>\n`).join('')}</annotation>\n`;

test('DIOR-RSVG (VOC layout): the spec example exactly, half-even boxes; a box outside the image skipped', async () => {
  const dir = await tempDir();
  const root = join(dir, 'DIOR-RSVG');
  await image(join(root, 'JPEGImages/01234.jpg'), 800, 800);
  await image(join(root, 'JPEGImages/01235.jpg'), 800, 800);
  write(join(root, 'Annotations/01234.xml'), voc('01234.jpg', [['the storage tank on the left', [121, 305, 233, 411]]]));
  write(join(root, 'Annotations/01235.xml'), voc('01235.jpg', [['the tank &amp; pipe', [450, 0, 800, 100]], ['a tank beyond', [700, 700, 900, 790]]]));
  const split = write(join(root, 'train.txt'), '01234\n01235\n');
  // --image-prefix names the images folder inside the meta root (the record path of the spec's example).
  const { summary: withPrefix, records: recs } = await convert('dior-rsvg', split, root, { imagePrefix: 'DIOR-RSVG/' });
  assert.equal(withPrefix.converted, 2);
  assert.equal(withPrefix.meta[Object.keys(withPrefix.meta)[0]!]!.root, dir);
  assert.deepEqual(recs[0], {
    id: 1234, image: 'DIOR-RSVG/JPEGImages/01234.jpg', width: 800, height: 800,
    conversations: [
      { from: 'human', value: '<image>\nDetect <ref>the storage tank on the left</ref>' },
      { from: 'gpt', value: '<ref>the storage tank on the left</ref><box>[[151, 381, 291, 514]]</box>' },
    ],
  });
  assert.equal(recs[1].conversations[1].value, '<ref>the tank & pipe</ref><box>[[562, 0, 1000, 125]]</box>'); // 562.5 → 562
  assert.deepEqual(withPrefix.skipped_by_reason, { 'box outside the image': 1 });
  assert.match(withPrefix.skipped_examples[0]!.location, /01235\.xml: object 2$/);
  assert.match(withPrefix.skipped_examples[0]!.detail!, /outside the 800x800 image/);
  assert.equal(withPrefix.source_records, 3);
  const plain = await convert('dior-rsvg', join(root, 'Annotations'), root);
  assert.equal(plain.records[0].image, 'JPEGImages/01234.jpg');
  assert.equal(parseVocXml(voc('x.jpg', [])).width, 800);
});

test('RSVQA (questions/answers/images JSON layout): active questions, answers by id, inactive counted', async () => {
  const dir = await tempDir();
  await image(join(dir, 'Images_LR/0.tif'));
  write(join(dir, 'LR_split_train_answers.json'), JSON.stringify({ answers: [{ id: 0, question_id: 0, answer: 'rural', active: true }, { id: 1, question_id: 1, answer: 'yes', active: true }] }));
  const q = write(join(dir, 'LR_split_train_questions.json'), JSON.stringify({ questions: [
    { id: 0, img_id: 0, type: 'rural_urban', question: 'Is it a rural or an urban area', answers_ids: [0], active: true },
    { id: 1, img_id: 0, type: 'presence', question: 'Is there a road', answers_ids: [1], active: false },
  ] }));
  const { summary, records } = await convert('rsvqa', q, join(dir, 'Images_LR'), { suffixVqa: true });
  assert.deepEqual(records, [{ id: '0', image: '0.tif', type: 'rural_urban', conversations: [
    { from: 'human', value: '<image>\nIs it a rural or an urban area Answer the question using a single word or phrase.' }, { from: 'gpt', value: 'rural' }] }]);
  assert.deepEqual(summary.skipped_by_reason, { 'inactive question': 1 });
});

test('GeoChat (LLaVA layout): task tags removed, 0–100 boxes → one 0–1000 <box> list, angle dropped', async () => {
  assert.deepEqual(rewriteGeoChat('[refer] give me the location of <p>small white car</p>'), { value: 'give me the location of <p>small white car</p>', problems: [] });
  assert.equal(rewriteGeoChat('{<12><34><56><78>|45}{<1><2><3><4>|0}').value, '<box>[[120, 340, 560, 780], [10, 20, 30, 40]]</box>');
  const dir = await tempDir();
  await image(join(dir, 'P0003.png'));
  const f = write(join(dir, 'geochat.json'), JSON.stringify([
    { id: 'g1', image: 'P0003.png', conversations: [{ from: 'human', value: '<image>\n[grounding] Where are the ships?' }, { from: 'gpt', value: 'ships {<10><20><30><40>|12}' }] },
    { id: 'g2', image: 'P0003.png', conversations: [{ from: 'human', value: 'Q' }, { from: 'human', value: 'Q' }] },
    { id: 'g3', image: 'P0003.png', conversations: [{ from: 'human', value: 'Q' }, { from: 'gpt', value: '{<10><20><130><40>|0}' }] },
  ]));
  const { summary, records } = await convert('geochat', f, dir);
  assert.deepEqual(records, [{ id: 'g1', image: 'P0003.png', conversations: [{ from: 'human', value: '<image>\nWhere are the ships?' }, { from: 'gpt', value: 'ships <box>[[100, 200, 300, 400]]</box>' }] }]);
  assert.deepEqual(summary.skipped_by_reason, { 'bad turn order': 1, 'box outside the image': 1 });
  assert.equal(summary.skipped_examples[0]!.location, `${f}[1]`);
});

test('VQA-RAD and SLAKE: direct VQA (numeric answers as text), language filter and empty answers counted', async () => {
  const dir = await tempDir();
  await image(join(dir, 'VQA_RAD Image Folder/synpic100.jpg'));
  const rad = write(join(dir, 'VQA_RAD Dataset Public.json'), JSON.stringify([
    { qid: 1, image_name: 'synpic100.jpg', question: 'Is there a pneumothorax?', answer: 'no', answer_type: 'CLOSED' },
    { qid: 2, image_name: 'synpic100.jpg', question: 'How many lesions?', answer: 2, answer_type: 'OPEN' },
    { qid: 3, image_name: 'synpic100.jpg', question: 'Where?', answer: ' ', answer_type: 'OPEN' },
  ]));
  const r = await convert('vqa-rad', rad, join(dir, 'VQA_RAD Image Folder'));
  assert.deepEqual(r.records.map((x) => [x.id, x.conversations[0].value, x.conversations[1].value]), [
    ['1', '<image>\nIs there a pneumothorax?', 'no'], ['2', '<image>\nHow many lesions?', '2']]);
  assert.deepEqual(r.summary.skipped_by_reason, { 'empty answer': 1 });
  await image(join(dir, 'imgs/xmlab102/source.jpg'));
  const sl = write(join(dir, 'train.json'), JSON.stringify([
    { qid: 7, img_name: 'xmlab102/source.jpg', question: 'Which organ is abnormal?', answer: 'Liver', q_lang: 'en' },
    { qid: 8, img_name: 'xmlab102/source.jpg', question: '哪个器官异常？', answer: '肝脏', q_lang: 'zh' },
  ]));
  const s = await convert('slake', sl, join(dir, 'imgs'), { lang: 'en' });
  assert.deepEqual(s.records, [{ id: '7', image: 'xmlab102/source.jpg', conversations: [{ from: 'human', value: '<image>\nWhich organ is abnormal?' }, { from: 'gpt', value: 'Liver' }] }]);
  assert.deepEqual(s.summary.skipped_by_reason, { 'other language': 1 });
});

test('PMC-VQA (train.csv layout): multiple choice with the option letters stripped and the letter as answer', async () => {
  const dir = await tempDir();
  await image(join(dir, 'images/PMC123_fig2.jpg'));
  const csv = write(join(dir, 'train.csv'), 'Figure_path,Question,Answer,Choice A,Choice B,Choice C,Choice D,Answer_label\nPMC123_fig2.jpg,Which organ is abnormal?,Liver,A:Liver,B:Kidney,C:Spleen,D:Lung,A\nPMC123_fig2.jpg,Which side?,Up,A:Left,B:Right,C:,D:,\n');
  const { summary, records } = await convert('pmc-vqa', csv, join(dir, 'images'));
  assert.deepEqual(records[0].conversations, [
    { from: 'human', value: "<image>\nWhich organ is abnormal?\nA. Liver\nB. Kidney\nC. Spleen\nD. Lung\nAnswer with the option's letter from the given choices directly." },
    { from: 'gpt', value: 'A' },
  ]);
  assert.deepEqual(summary.skipped_by_reason, { 'answer not among the options': 1 });
});

test('generic grounding from a CSV: pixel boxes normalised with the image size from its header', async () => {
  const dir = await tempDir();
  await image(join(dir, 'dogs.jpg'), 800, 600);
  const csv = write(join(dir, 'g.csv'), 'image,expression,bbox\ndogs.jpg,the middle dog,"[121, 305, 233, 411]"\ndogs.jpg,a ghost,"[0, 0, 900, 10]"\n');
  const { summary, records } = await convert('generic', csv, dir, { task: 'grounding' });
  assert.deepEqual(records, [{ id: 0, image: 'dogs.jpg', width: 800, height: 600, conversations: [
    { from: 'human', value: '<image>\nPlease provide the bounding box coordinate of the region this sentence describes: <ref>the middle dog</ref>' },
    { from: 'gpt', value: '<ref>the middle dog</ref><box>[[151, 508, 291, 685]]</box>' }] }]);
  assert.deepEqual(summary.skipped_by_reason, { 'box outside the image': 1 });
  const cap = write(join(dir, 'c.jsonl'), `${JSON.stringify({ image: 'dogs.jpg', caption: 'Two dogs.' })}\n`);
  const c = await convert('generic', cap, dir, { task: 'caption', prompt: 'Describe this photo.' });
  assert.deepEqual(c.records[0].conversations, [{ from: 'human', value: '<image>\nDescribe this photo.' }, { from: 'gpt', value: 'Two dogs.' }]);
  await rejectsWith(runConverter('generic', { input: cap, out: join(dir, 'x.jsonl'), images: dir, force: false, flags: {} }), /--task caption\|vqa\|grounding\|region is required/);
  // Region perception, box in the question (adaptation.md §4.4 b).
  const reg = write(join(dir, 'r.jsonl'), `${JSON.stringify({ image: 'dogs.jpg', bbox: [329.6, 139.8, 398.4, 180.6], answer: '<ref>airplane</ref><box>[[412, 233, 498, 301]]</box>' })}\n`);
  const rr = await convert('generic', reg, dir, { task: 'region', prompt: 'What object is in this location{box}' });
  assert.deepEqual(rr.records[0].conversations, [
    { from: 'human', value: '<image>\nWhat object is in this location<box>[[412, 233, 498, 301]]</box>' },
    { from: 'gpt', value: '<ref>airplane</ref><box>[[412, 233, 498, 301]]</box>' }]);
});

test('BDD-X (annotation CSV): one video record per segment; segments without frames or answers counted', async () => {
  const dir = await tempDir();
  await image(join(dir, 'frames/06d501fd-a9ffc960_1/0001.jpg'));
  await image(join(dir, 'frames/06d501fd-a9ffc960_1/0002.jpg'));
  const csv = write(join(dir, 'BDD-X-Annotations_v1.csv'), 'Input.Video,Answer.1start,Answer.1end,Answer.1action,Answer.1justification,Answer.2start,Answer.2end,Answer.2action,Answer.2justification,Answer.3start,Answer.3end,Answer.3action,Answer.3justification\nhttps://s3.amazonaws.com/x/06d501fd-a9ffc960.mov,0,11,The car is stopped,because the light is red,11,15,The car accelerates,because the light turned green,15,20,The car slows,\n');
  const { summary, records } = await convert('bdd-x', csv, join(dir, 'frames'));
  assert.deepEqual(records, [{ id: '06d501fd-a9ffc960_1', video: '06d501fd-a9ffc960_1', conversations: [
    { from: 'human', value: '<video>\nWhat is the action of ego car?' }, { from: 'gpt', value: 'The car is stopped' },
    { from: 'human', value: 'Why does the ego car doing this?' }, { from: 'gpt', value: 'because the light is red' }] }]);
  assert.deepEqual(summary.skipped_by_reason, { 'missing image': 1, 'empty answer': 1 });
  assert.equal(summary.source_records, 3);
});

test('minivl adapt convert: summary JSON on stdout, skipped records on stderr, refuses to overwrite', async () => {
  const dir = await tempDir();
  await image(join(dir, 'a.jpg'));
  const f = write(join(dir, 'v.jsonl'), `${JSON.stringify({ image: 'a.jpg', question: 'Q?', answer: 'A' })}\n${JSON.stringify({ image: 'b.jpg', question: 'Q?', answer: 'A' })}\n{bad\n`);
  const out = join(dir, 'o.jsonl');
  const args = ['adapt', 'convert', '--from', 'generic', '--task', 'vqa', '--in', f, '--out', out];
  const [ok, again, forced, unknown] = minivlBatch([args, args, [...args, '--force'], ['adapt', 'convert', '--from', 'nope', '--in', f, '--out', out]]);
  assert.equal(ok!.status, 0, ok!.stderr);
  const s = JSON.parse(ok!.stdout);
  assert.equal(s.converted, 1);
  assert.deepEqual(s.skipped_by_reason, { 'missing image': 1, 'unreadable source record': 1 });
  assert.match(ok!.stderr, new RegExp(`skipped: ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: missing image`));
  assert.equal(again!.status, 1);
  assert.match(again!.stderr, /^minivl: error: --out .*o\.jsonl exists; pass --force to replace it\n$/);
  assert.equal(forced!.status, 0);
  assert.match(unknown!.stderr, /--from nope: unknown source \(known: drivelm, bdd-x, geochat, dior-rsvg, rsvqa, vqa-rad, slake, pmc-vqa, gmai-mcq, classification, generic\)/);
});
