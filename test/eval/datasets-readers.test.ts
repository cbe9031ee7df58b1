// Every benchmark's reader on fixture files in the real formats: item counts, malformed rows reported with
// their location (never fatal), fields, and the exact question text each toolkit sends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getBench, BENCH_NAMES, toolkitSpec } from '../../src/eval/benchmarks.ts';
import { readBench } from '../../src/eval/datasets/index.ts';
import { effectiveSettings } from '../../src/eval/run.ts';
import { tempDir, rejectsWith } from '../helpers/tmp.ts';
import { writeFixture, type Fixture } from './fixtures.ts';

const fx: Fixture = await writeFixture(await tempDir('minivl-eval-ds-'));
const read = async (name: string, toolkit?: 'internvl' | 'vlmevalkit') => readBench(getBench(name), toolkit, fx.data);
const question = (name: string, item: Parameters<ReturnType<typeof toolkitSpec>['spec']['question']>[0], toolkit?: 'internvl' | 'vlmevalkit') =>
  toolkitSpec(getBench(name), toolkit).spec.question(item);

test('every benchmark reads its fixture; malformed rows are reported with file and line, the rest kept', async () => {
  for (const name of BENCH_NAMES.filter((n) => !n.endsWith('-test'))) {
    const r = await read(name);
    assert.equal(r.items.length, fx.itemCounts[name], `${name} items`);
    const expected = fx.expectedProblems[name] ?? [];
    assert.equal(r.problems.length, expected.length, `${name} problems: ${JSON.stringify(r.problems)}`);
    for (const e of expected) {
      const p = r.problems.find((x) => x.location === e.location);
      assert.ok(p, `${name}: no problem at ${e.location} (got ${JSON.stringify(r.problems)})`);
      assert.match(p.message, e.message);
    }
  }
});

test('a data file that is missing is one error naming the expected file', async () => {
  await rejectsWith(() => readBench(getBench('infovqa'), 'vlmevalkit', fx.data), /infovqa \(vlmevalkit\): no data file under .* \(expected InfoVQA_VAL\.tsv\)/);
});

test('MMMU: dev rows are left out, a list cell gives two images, pandas NaN options are dropped, multi-image prompt', async () => {
  const r = await read('mmmu');
  assert.deepEqual(r.items.map((i) => i.id), ['validation_Art_1', 'validation_Math_2']);
  const mc = r.items[0]!;
  assert.equal(mc.images.length, 2);
  // Option D is "None": pandas reads it as NaN, so VLMEvalKit (and we) show only A-C.
  assert.deepEqual(mc.fields.options, { A: 'left', B: 'right', C: 'both' });
  assert.equal(
    question('mmmu', mc),
    'Image-1: <image>\nImage-2: <image>\nCompare <image 1> and <image 2>:\nwhich is "larger"?\nA. left\nB. right\nC. both\n' +
      "Answer with the option's letter from the given choices directly.<Image-1><Image-2>",
  );
  assert.deepEqual(getBench('mmmu').scoreFields(mc), { question: mc.fields.question, options: { A: 'left', B: 'right', C: 'both' }, answer: 'B', question_type: 'multiple-choice' });
  const open = r.items[1]!;
  assert.equal(question('mmmu', open), '<image>\nWhat is x? <image 1>\nAnswer the question directly.');
  assert.equal((getBench('mmmu').scoreFields(open) as { question_type: string }).question_type, 'open');
  const s = effectiveSettings(getBench('mmmu'), undefined);
  assert.deepEqual(s, { toolkit: 'vlmevalkit', maxNum: 12, maxNewTokens: 1024, minNewTokens: 0, upscaleFirstImage: true, overrides: [] });
});

test('MMBench: a short image cell points at another row; InternVL prompt with hint; Chinese suffix by dataset language', async () => {
  const en = await read('mmbench-en');
  assert.deepEqual(en.items.map((i) => i.id), ['1', '1000001', '2']);
  const copy = en.items[1]!;
  assert.equal(copy.images[0]!.kind, 'base64');
  assert.equal((copy.images[0] as { data: string }).data, (en.items[0]!.images[0] as { data: string }).data);
  assert.equal(question('mmbench-en', en.items[0]!), "<image>\nWhat is the main object?\nA. teddy bear\nB. rabbit\nC. cat\nD. dog\nAnswer with the option's letter from the given choices directly.");
  assert.equal(question('mmbench-en', en.items[2]!), "<image>\nA toy shop.\nWhat is the main object?\nA. yes\nB. no\nAnswer with the option's letter from the given choices directly.");
  const cn = await read('mmbench-cn');
  assert.equal(question('mmbench-cn', cn.items[0]!), '<image>\n图中的主要物体是什么?\nA. teddy bear\nB. rabbit\nC. cat\nD. dog\n请直接回答选项字母。');
  assert.equal(question('mmbench-cn', cn.items[0]!, 'vlmevalkit'), '<image>\n图中的主要物体是什么?\nA. teddy bear\nB. rabbit\nC. cat\nD. dog\n请直接回答选项字母。');
  assert.deepEqual(getBench('mmbench-en').scoreFields(copy), {
    index: 1000001, question: 'What is the main object?', options: { A: 'rabbit', B: 'cat', C: 'dog', D: 'teddy bear' }, answer: 'D', category: 'object', 'l2-category': 'perception',
  });
  assert.deepEqual(effectiveSettings(getBench('mmbench-en'), undefined), { toolkit: 'internvl', maxNum: 6, maxNewTokens: 100, minNewTokens: 1, upscaleFirstImage: false, overrides: [] });
});

test('InternVL JSONL sets: reference-relative image paths, suffixes, ids, settings', async () => {
  const ai2d = await read('ai2d');
  assert.match((ai2d.items[0]!.images[0] as { path: string }).path, /data\/ai2diagram\/ai2d\/images\/1\.png$/);
  assert.equal(question('ai2d', ai2d.items[1]!), '<image>\nWhich label shows the moon?\nA. a\nB. b'); // AI2D: the question as is
  assert.deepEqual(effectiveSettings(getBench('ai2d'), undefined), { toolkit: 'internvl', maxNum: 6, maxNewTokens: 10, minNewTokens: 1, upscaleFirstImage: false, overrides: [] });
  const chart = await read('chartqa');
  assert.deepEqual(chart.items.map((i) => i.id), ['human/0', 'human/1', 'augmented/0']);
  assert.equal(question('chartqa', chart.items[0]!), '<image>\nWhat is the highest value? Answer the question using a single word or phrase.');
  assert.equal(effectiveSettings(getBench('chartqa'), undefined).maxNum, 12);
  const doc = await read('docvqa');
  assert.deepEqual(getBench('docvqa').scoreFields(doc.items[0]!), { answer: ['June 5, 1999'] });
  assert.equal(effectiveSettings(getBench('docvqa'), undefined).maxNum, 18);
  assert.equal(effectiveSettings(getBench('infovqa'), undefined).maxNum, 24);
});

test('VLMEvalKit VQA sets: OCRBench suffix on its own line and list answers; MathVista question only', async () => {
  const ocr = await read('ocrbench');
  assert.equal(question('ocrbench', ocr.items[0]!), '<image>\nwhat is written in the image?\nAnswer the question using a single word or phrase.');
  assert.deepEqual(getBench('ocrbench').scoreFields(ocr.items[1]!), { answer: ['5.00', '$5'], category: 'Key Information Extraction' });
  assert.deepEqual(effectiveSettings(getBench('ocrbench'), undefined), { toolkit: 'vlmevalkit', maxNum: 24, maxNewTokens: 1024, minNewTokens: 0, upscaleFirstImage: false, overrides: [] });
  const mv = await read('mathvista');
  assert.equal(question('mathvista', mv.items[1]!), '<image>\nWhat fraction is blue?\nChoices:\n(A) 3/11\n(B) 8/11');
  assert.deepEqual(getBench('mathvista').scoreFields(mv.items[1]!), {
    question: 'What fraction is blue?\nChoices:\n(A) 3/11\n(B) 8/11', question_type: 'multi_choice', answer_type: 'text', answer: '8/11', choices: "['3/11', '8/11']", answer_option: 'B', precision: null,
  });
});

test('domain sets: DriveLM, MME-RealWorld (AD subset, reference prompt), RSVQA, DIOR-RSVG, GMAI-MMBench', async () => {
  const d = await read('drivelm');
  assert.equal(question('drivelm', d.items[0]!), '<image>\nWhat are the important objects in the current scene? <c1,CAM_FRONT,[500,250]>');
  assert.equal(effectiveSettings(getBench('drivelm'), undefined).maxNewTokens, 200);
  const m = await read('mme-realworld');
  assert.deepEqual(m.items.map((i) => i.id), ['ad/1']);
  assert.equal(
    question('mme-realworld', m.items[0]!),
    '<image>\nWhat colour is the light?选项如下所示:\n(A) red\n(B) green\n(C) yellow\n' +
      'Select the best answer to the above multiple-choice question based on the image.             Respond with only the letter (A, B, C, D, or E) of the correct option. \nThe best answer is:',
  );
  const rs = await read('rsvqa-lr');
  assert.equal(question('rsvqa-lr', rs.items[0]!), '<image>\nIs it a rural or an urban area?\nAnswer the question using a single word or phrase.');
  assert.deepEqual(getBench('rsvqa-lr').scoreFields(rs.items[1]!), { answer: '12', type: 'count' });
  const dior = await read('dior-rsvg');
  assert.equal(question('dior-rsvg', dior.items[0]!), '<image>\nDetect the ship on the left');
  assert.deepEqual(getBench('dior-rsvg').scoreFields(dior.items[0]!), { bbox: [10, 10, 19, 19], size: [80, 80] });
  const g = await read('gmai-mmbench');
  assert.equal(question('gmai-mmbench', g.items[0]!), "<image>\nWhich organ is shown?\nA. liver\nB. lung\nC. heart\nAnswer with the option's letter from the given choices directly.");
});

test('--toolkit vlmevalkit: the VLMEvalKit TSVs of AI2D, ChartQA and DocVQA with its prompts and max_num', async () => {
  const ai2d = await read('ai2d', 'vlmevalkit');
  assert.equal(question('ai2d', ai2d.items[0]!, 'vlmevalkit'), "<image>\nWhich label shows the sun?\nA. a\nB. b\nC. c\nD. d\nAnswer with the option's letter from the given choices directly.");
  assert.deepEqual(effectiveSettings(getBench('ai2d'), 'vlmevalkit'), { toolkit: 'vlmevalkit', maxNum: 6, maxNewTokens: 1024, minNewTokens: 0, upscaleFirstImage: false, overrides: [] });
  const chart = await read('chartqa', 'vlmevalkit');
  assert.equal(question('chartqa', chart.items[0]!, 'vlmevalkit'), '<image>\nWhat is the highest value?\nAnswer the question using a single word or phrase.');
  assert.equal(effectiveSettings(getBench('chartqa'), 'vlmevalkit').maxNum, 12);
  const doc = await read('docvqa', 'vlmevalkit');
  assert.deepEqual(getBench('docvqa').scoreFields(doc.items[0]!), { answer: ['June 5, 1999', 'june 5 1999'] });
  assert.equal(effectiveSettings(getBench('docvqa'), 'vlmevalkit').maxNum, 18);
  // Overrides are explicit and listed.
  assert.deepEqual(effectiveSettings(getBench('docvqa'), 'vlmevalkit', { maxNum: 2 }).overrides, ['max_num 2 (reference 18)']);
});
