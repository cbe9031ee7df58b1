// Small benchmark folders in each real format (a few items per benchmark, with images), written into a temp
// dir: the reference's file names and layouts, plus deliberately malformed rows whose problems tests expect.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

/** A small PNG of one colour (distinct per seed so images hash differently). */
export async function png(seed: number, width = 40, height = 30): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (seed * 37 + i * (seed + 3)) & 0xff;
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

async function put(root: string, rel: string, content: string | Buffer): Promise<void> {
  const p = join(root, rel);
  await mkdir(dirname(p), { recursive: true });
  await writeFile(p, content);
}

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** pandas-style TSV: cells with a tab, newline or quote are quoted, quotes doubled. */
export function tsv(header: string[], rows: Array<Record<string, string>>): string {
  const cell = (s: string) => (/[\t\n"]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [header.join('\t'), ...rows.map((r) => header.map((h) => cell(r[h] ?? '')).join('\t'))].join('\n') + '\n';
}

export interface Fixture {
  /** The `--data` folder. */
  data: string;
  /** Problems each benchmark's reader must report (substring of the message, location). */
  expectedProblems: Record<string, Array<{ location: string; message: RegExp }>>;
  /** Items each benchmark yields. */
  itemCounts: Record<string, number>;
  /** Items whose image cannot be decoded (stored as failed at run time). */
  itemErrors: Record<string, number>;
}

/** Writes the fixture under `root`: `root/data` is the data folder (InternVL JSONL paths start with `data/`). */
export async function writeFixture(root: string): Promise<Fixture> {
  const data = join(root, 'data');
  const b64 = async (seed: number) => (await png(seed)).toString('base64');

  // ---- InternVL JSONL sets: image paths relative to internvl_chat/ (the parent of data/) ----
  await put(data, 'ai2diagram/ai2d/images/1.png', await png(1));
  await put(data, 'ai2diagram/ai2d/images/2.png', await png(2));
  await put(data, 'ai2diagram/test_vlmevalkit.jsonl', jsonl([
    { image: 'data/ai2diagram/ai2d/images/1.png', question: 'Which label shows the sun?\nA. a\nB. b\nAnswer with the option\'s letter from the given choices directly.', question_id: 1, answer: 'A' },
    { image: 'data/ai2diagram/ai2d/images/2.png', question: 'Which label shows the moon?\nA. a\nB. b', question_id: 2, answer: 'B' },
    { image: 'data/ai2diagram/ai2d/images/missing.png', question: 'Where?', question_id: 3, answer: 'A' },
  ]) + '{"image": broken\n');
  await put(data, 'chartqa/test/png/h1.png', await png(3));
  await put(data, 'chartqa/test/png/a1.png', await png(4));
  await put(data, 'chartqa/test_human.jsonl', jsonl([
    { image: 'data/chartqa/test/png/h1.png', question: 'What is the highest value?', answer: '100' },
    { image: 'data/chartqa/test/png/h1.png', question: 'Which year?', answer: '2019' },
  ]));
  await put(data, 'chartqa/test_augmented.jsonl', jsonl([
    { image: 'data/chartqa/test/png/a1.png', question: 'How many bars?', answer: '4' },
    { image: 'data/chartqa/test/png/a1.png', question: 'no answer field' },
  ]));
  await put(data, 'docvqa/val/documents/d1.png', await png(5));
  await put(data, 'docvqa/val.jsonl', jsonl([
    { image: 'data/docvqa/val/documents/d1.png', question: 'What is the date?', question_id: 57344, answer: ['June 5, 1999'] },
    { image: 'data/docvqa/val/documents/d1.png', question: 'Who signed?', question_id: 57345, answer: ['Acme Corp'] },
    { image: 'data/docvqa/val/documents/d1.png', question: 'Duplicate', question_id: 57344, answer: ['x'] },
  ]));
  await put(data, 'infographicsvqa/val/i1.png', await png(6));
  await put(data, 'infographicsvqa/val.jsonl', jsonl([
    { image: 'data/infographicsvqa/val/i1.png', question: 'What percentage?', question_id: 10, answer: ['12%', '12'] },
  ]));

  // ---- VLMEvalKit TSVs (base64 images) ----
  const mmmuImg1 = await b64(7);
  const mmmuImg2 = await b64(8);
  await put(data, 'MMMU_DEV_VAL.tsv', tsv(['index', 'question', 'A', 'B', 'C', 'D', 'answer', 'category', 'image', 'split'], [
    { index: 'dev_1', question: 'Dev question <image 1>', A: '1', B: '2', answer: 'A', category: 'Art', image: mmmuImg1, split: 'dev' },
    { index: 'validation_Art_1', question: 'Compare <image 1> and <image 2>:\nwhich is "larger"?', A: 'left', B: 'right', C: 'both', D: 'None', answer: 'B', category: 'Art', image: `['${mmmuImg1}', '${mmmuImg2}']`, split: 'validation' },
    { index: 'validation_Math_2', question: 'What is x? <image 1>', answer: '1.06', category: 'Math', image: mmmuImg2, split: 'validation' },
  ]));
  await put(data, 'MathVista_MINI.tsv', tsv(['index', 'image', 'question', 'answer', 'question_type', 'answer_type', 'precision', 'choices', 'answer_option'], [
    { index: '1', image: await b64(9), question: 'Hint: Please answer the question requiring an integer answer.\nQuestion: Which number is missing?', answer: '14', question_type: 'free_form', answer_type: 'integer', precision: '', choices: '', answer_option: '' },
    { index: '2', image: await b64(10), question: 'What fraction is blue?\nChoices:\n(A) 3/11\n(B) 8/11', answer: '8/11', question_type: 'multi_choice', answer_type: 'text', precision: '', choices: "['3/11', '8/11']", answer_option: 'B' },
  ]));
  await put(data, 'OCRBench.tsv', tsv(['index', 'image', 'question', 'answer', 'category'], [
    { index: '0', image: await b64(11), question: 'what is written in the image?', answer: "['stop']", category: 'Regular Text Recognition' },
    { index: '1', image: await b64(12), question: 'what is the total?', answer: "['5.00', '$5']", category: 'Key Information Extraction' },
    { index: '2', image: 'not*base64!data_that_is_longer_than_sixty_four_characters_to_not_be_an_index_ref', question: 'q', answer: "['x']", category: 'Digit String Recognition' },
    // Valid base64, but not an image: read fine, fails when decoded (an item error, not a data problem).
    { index: '3', image: Buffer.from('these bytes are valid base64 but they are not any image format at all').toString('base64'), question: 'q', answer: "['x']", category: 'Digit String Recognition' },
  ]));
  const mmbHeader = ['index', 'question', 'hint', 'A', 'B', 'C', 'D', 'answer', 'category', 'l2-category', 'image', 'comment', 'source', 'split'];
  const mmbImg = await b64(13);
  for (const lang of ['en', 'cn'] as const) {
    const q = lang === 'en' ? 'What is the main object?' : '图中的主要物体是什么?';
    await put(data, `mmbench/mmbench_test_${lang}_20231003.tsv`, tsv(mmbHeader, [
      { index: '1', question: q, hint: 'nan', A: 'teddy bear', B: 'rabbit', C: 'cat', D: 'dog', answer: 'A', category: 'object', 'l2-category': 'perception', image: mmbImg, split: 'test' },
      { index: '1000001', question: q, hint: 'nan', A: 'rabbit', B: 'cat', C: 'dog', D: 'teddy bear', answer: 'D', category: 'object', 'l2-category': 'perception', image: '1', split: 'test' },
      { index: '2', question: q, hint: 'A toy shop.', A: 'yes', B: 'no', answer: 'A', category: 'object', 'l2-category': 'perception', image: await b64(14), split: 'test' },
      { index: '3', question: '', hint: '', A: 'x', B: 'y', answer: 'A', category: 'object', 'l2-category': 'perception', image: mmbImg, split: 'test' },
    ]));
  }
  // The same sets as VLMEvalKit ships them (for --toolkit vlmevalkit).
  await put(data, 'AI2D_TEST.tsv', tsv(['index', 'question', 'A', 'B', 'C', 'D', 'answer', 'image'], [
    { index: '0', question: 'Which label shows the sun?', A: 'a', B: 'b', C: 'c', D: 'd', answer: 'A', image: await b64(21) },
  ]));
  await put(data, 'ChartQA_TEST.tsv', tsv(['index', 'question', 'answer', 'image'], [
    { index: '0', question: 'What is the highest value?', answer: '100', image: await b64(22) },
  ]));
  await put(data, 'DocVQA_VAL.tsv', tsv(['index', 'question', 'answer', 'image'], [
    { index: '57344', question: 'What is the date?', answer: "['June 5, 1999', 'june 5 1999']", image: await b64(23) },
  ]));
  await put(data, 'GMAI-MMBench_VAL.tsv', tsv(['index', 'question', 'A', 'B', 'C', 'answer', 'category', 'image'], [
    { index: '1', question: 'Which organ is shown?', A: 'liver', B: 'lung', C: 'heart', answer: 'B', category: 'Organ Recognition', image: await b64(15) },
  ]));

  // ---- domain sets (InternVL-Domain-Adaptation-Data layout) ----
  await put(data, 'images/drivelm/stitch/s1_f1.jpg', await sharp(await png(16, 96, 32)).jpeg().toBuffer());
  await put(data, 'val/drivelm_val.jsonl', jsonl([
    { id: 's1_f1_0', image: 's1_f1.jpg', question_old: 'What are the important objects? <c1,CAM_FRONT,800.0,450.0>', conversations: [
      { from: 'human', value: '<image>\nWhat are the important objects in the current scene? <c1,CAM_FRONT,[500,250]>  ' },
      { from: 'gpt', value: 'There is a car <c1,CAM_FRONT,[500,250]>.' }] },
  ]));
  await put(data, 'images/MME-RealWorld/data/AutonomousDriving/ad1.png', await png(17));
  await put(data, 'val/MME_RealWorld.json', JSON.stringify([
    { Question_id: 'ad/1', Image: 'AutonomousDriving/ad1.png', Text: 'What colour is the light?', 'Answer choices': ['(A) red', '(B) green', '(C) yellow'], 'Ground truth': 'B', Category: 'traffic_signal', Task: 'Perception', Subtask: 'Autonomous_Driving' },
    { Question_id: 'rs/1', Image: 'RemoteSensing/x.png', Text: 'not driving', 'Answer choices': ['(A) a'], 'Ground truth': 'A', Category: 'c', Task: 'Perception', Subtask: 'Remote_Sensing' },
  ]));
  await put(data, 'images/RSVQA_L/Images_LR/1.tif', await sharp(await png(18)).tiff().toBuffer());
  await put(data, 'images/RSVQA-H/Data/1.png', await png(19));
  await put(data, 'val/rsvqa_l_test_instruct.json', jsonl([
    { id: 1, image: 'RSVQA_L/Images_LR/1.tif', question: 'Is it a rural or an urban area?', gt_answer: 'rural', type: 'rural_urban' },
    { id: 2, image: 'RSVQA_L/Images_LR/1.tif', question: 'How many buildings are there?', gt_answer: '12', type: 'count' },
  ]));
  for (const t of ['1', '2']) {
    await put(data, `val/rsvqa_h_test_${t}_instruct.json`, JSON.stringify([
      { id: 1, image: 'RSVQA-H/Data/1.png', question: 'Is there a road?', gt_answer: 'yes', type: 'presence' },
    ]));
  }
  await put(data, 'images/DIOR-RSVG/JPEGImages/1.jpg', await sharp(await png(20, 80, 80)).jpeg().toBuffer());
  await put(data, 'val/dior_rsvg_test.json', JSON.stringify([
    { image: 'DIOR-RSVG/JPEGImages/1.jpg', prompt: 'the ship on the left', bbox: [10, 10, 19, 19], size: [80, 80] },
    { image: 'DIOR-RSVG/JPEGImages/1.jpg', prompt: 'no size', bbox: [1, 1, 2, 2] },
  ]));

  return {
    data,
    expectedProblems: {
      ai2d: [
        { location: 'ai2diagram/test_vlmevalkit.jsonl:3', message: /image file 'data\/ai2diagram\/ai2d\/images\/missing\.png' not found/ },
        { location: 'ai2diagram/test_vlmevalkit.jsonl:4', message: /not a JSON line/ },
      ],
      chartqa: [{ location: 'chartqa/test_augmented.jsonl:2', message: /missing field\(s\) answer/ }],
      docvqa: [{ location: 'docvqa/val.jsonl:3', message: /duplicate id '57344' \(first at docvqa\/val\.jsonl:1\)/ }],
      ocrbench: [{ location: 'OCRBench.tsv:4', message: /not valid base64/ }],
      'mmbench-en': [{ location: 'mmbench/mmbench_test_en_20231003.tsv:5', message: /missing value\(s\) in column\(s\) question/ }],
      'mmbench-cn': [{ location: 'mmbench/mmbench_test_cn_20231003.tsv:5', message: /missing value\(s\) in column\(s\) question/ }],
      'dior-rsvg': [{ location: 'val/dior_rsvg_test.json#1', message: /missing field\(s\) size/ }],
    },
    itemCounts: {
      mmmu: 2, mathvista: 2, ai2d: 2, chartqa: 3, docvqa: 2, infovqa: 1, ocrbench: 3, 'mmbench-en': 3, 'mmbench-cn': 3,
      drivelm: 1, 'mme-realworld': 1, 'rsvqa-lr': 2, 'rsvqa-hr-test1': 1, 'rsvqa-hr-test2': 1, 'dior-rsvg': 1, 'gmai-mmbench': 1,
    },
    itemErrors: { ocrbench: 1 },
  };
}
