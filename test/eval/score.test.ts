// scoreItems: bench list and default protocols, line checking, protocol choice, quirk switches, aggregation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BENCH_NAMES, QUIRK_NAMES, defaultProtocol, parseItem, scoreItems, usesJudge } from '../../src/eval/score.ts';
import { rejectsWith } from '../helpers/tmp.ts';

test('benches and the protocols behind the published numbers', () => {
  assert.deepEqual(BENCH_NAMES, ['ai2d', 'chartqa', 'docvqa', 'infovqa', 'ocrbench', 'mmbench-en', 'mmbench-cn', 'mmmu', 'mathvista', 'drivelm', 'mme-realworld', 'rsvqa-lr', 'rsvqa-hr-test1', 'rsvqa-hr-test2', 'dior-rsvg', 'gmai-mmbench']);
  const defaults = Object.fromEntries(BENCH_NAMES.map((b) => [b, defaultProtocol(b)]));
  assert.equal(defaults.ai2d, 'internvl');
  assert.equal(defaults.chartqa, 'internvl');
  assert.equal(defaults.docvqa, 'internvl');
  assert.equal(defaults.ocrbench, 'vlmevalkit');
  assert.equal(defaults['mmbench-en'], 'vlmevalkit');
  assert.equal(defaults.mmmu, 'vlmevalkit');
  assert.equal(defaults.mathvista, 'vlmevalkit');
  assert.equal(defaults['gmai-mmbench'], 'vlmevalkit');
  assert.deepEqual(BENCH_NAMES.filter((b) => usesJudge(b)), ['mmbench-en', 'mmbench-cn', 'mmmu', 'mathvista', 'drivelm', 'gmai-mmbench']);
  assert.equal(usesJudge('mmmu', 'internvl'), false);
});

test('answer lists: JSON lists, Python-literal lists (TSV), and plain strings that only look like one', async () => {
  const r = await scoreItems('docvqa', undefined, [
    { id: 1, prediction: 'acme', answer: ['ACME', 'Acme Inc'] },
    { id: 2, prediction: '2.50', answer: "['$ 2.50', '2.50']" },
    { id: 3, prediction: '(555) 123', answer: '(555) 123' },
  ]);
  assert.deepEqual(r.items.map((i) => i.score), [1, 1, 1]);
  assert.deepEqual(parseItem('ocrbench', { id: 1, prediction: 'x', answer: "['a', \"b\"]", category: 'Doc-oriented VQA' }, 'f:1').answer, ['a', 'b']);
});

test('ChartQA: the reported number is the mean of the human and augmented accuracies', async () => {
  const items = [
    { id: 'h1', prediction: '96', answer: '100', split: 'human' },
    { id: 'h2', prediction: 'x', answer: 'y', split: 'human' },
    { id: 'a1', prediction: 'Yes', answer: 'yes', split: 'augmented' },
  ];
  const r = await scoreItems('chartqa', undefined, items);
  assert.equal(r.breakdown['split:human'], 50);
  assert.equal(r.breakdown['split:augmented'], 100);
  assert.equal(r.score, 75);
  assert.equal((await scoreItems('chartqa', 'vlmevalkit', items)).score, 75); // VLMEvalKit calls the same swapped rule
});

test('fixQuirks: true fixes every quirk and says so; unknown names are refused', async () => {
  const r = await scoreItems('chartqa', undefined, [{ id: 1, prediction: '95', answer: '100' }], { fixQuirks: true });
  assert.equal(r.score, 100); // textbook relaxed accuracy
  assert.deepEqual(r.quirks.fixed, QUIRK_NAMES);
  await rejectsWith(scoreItems('ai2d', undefined, [{ id: 1, prediction: 'B', answer: 'B' }], { fixQuirks: ['nope' as never] }), /unknown quirk 'nope'/);
});

test('malformed items name their position; duplicates are refused', async () => {
  await rejectsWith(scoreItems('ai2d', undefined, [{ id: 1, prediction: 'B', answer: 'B' }, { prediction: 'B', answer: 'B' }]), /^item 2: field 'id'/);
  await rejectsWith(scoreItems('ai2d', undefined, ['x']), /^item 1: expected a JSON object/);
  await rejectsWith(scoreItems('dior-rsvg', undefined, [{ id: 1, prediction: '', bbox: [1, 2, 3], size: [8, 8] }]), /field 'bbox' must be a list of 4 numbers/);
  await rejectsWith(
    scoreItems('mmbench-en', undefined, [
      { id: 'a', index: 5, prediction: 'A', question: 'q', options: { A: 'x', B: 'y' }, answer: 'A' },
      { id: 'b', index: 5, prediction: 'A', question: 'q', options: { A: 'x', B: 'y' }, answer: 'A' },
    ]),
    /item 2: duplicate index 5/,
  );
  await rejectsWith(scoreItems('mathvista', undefined, [{ id: 1, prediction: 'B', question: 'q', question_type: 'multi_choice', answer_type: 'text', answer: 'x', choices: null, answer_option: 'A' }]), /field 'choices' must be a non-empty list/);
  await rejectsWith(scoreItems('ai2d', 'vlmevalkit', []), /has no protocol 'vlmevalkit'/);
  await rejectsWith(
    scoreItems('mmbench-en', undefined, [{ id: 'a', index: 1000009, prediction: 'A', question: 'q', options: { A: 'x', B: 'y' }, answer: 'A' }]),
    /^item 1: index 1000009 is a circular copy of question 9, which has no line/,
  );
});

test('MMBench (internvl): a group counts iff post_process of every copy is its letter; post-process-case quirk', async () => {
  const items = [
    { id: 'a', index: 3, prediction: 'A', question: 'q', options: { A: 'x', B: 'y' }, answer: 'A' },
    { id: 'b', index: 1000003, prediction: 'b', question: 'q', options: { A: 'y', B: 'x' }, answer: 'B' },
  ];
  assert.equal((await scoreItems('mmbench-en', 'internvl', items)).score, 0);
  assert.equal((await scoreItems('mmbench-en', 'internvl', items, { fixQuirks: ['post-process-case'] })).score, 100);
  assert.equal((await scoreItems('mmbench-en', undefined, items)).score, 0); // can_infer: "b" is no letter, no text match
});

test('MMMU (internvl): post_process for multiple choice, parse_open_response for open questions', async () => {
  const r = await scoreItems('mmmu', 'internvl', [
    { id: 1, prediction: 'B. banana', question: 'q', options: { A: 'apple', B: 'banana' }, answer: 'B', question_type: 'multiple-choice' },
    { id: 2, prediction: 'so the result is 3.4286', question: 'q', options: {}, answer: ['24/7', '3.429'], question_type: 'open' },
    { id: 3, prediction: '0.015625', question: 'q', options: {}, answer: '1/64', question_type: 'open' },
  ]);
  assert.deepEqual(r.items.map((i) => i.correct), [true, true, false]);
  assert.equal(r.judge.used, false);
  assert.equal(r.judge.note, undefined); // this protocol never consults a judge
});

test('MMMU_DEV_VAL: the score is the validation split; dev is reported beside it', async () => {
  const q = { question: 'q', options: { A: 'apple', B: 'banana' }, answer: 'B', question_type: 'multiple-choice' };
  const r = await scoreItems('mmmu', undefined, [
    { id: 1, prediction: 'B', split: 'dev', ...q },
    { id: 2, prediction: 'A', split: 'dev', ...q },
    { id: 3, prediction: 'B', split: 'validation', ...q },
  ]);
  assert.deepEqual([r.score, r.breakdown['split:dev'], r.breakdown['split:validation']], [100, 50, 100]);
});

test('MathVista (internvl): rule extraction and normalisation; no judge → unreadable answers miss', async () => {
  const base = { question: 'q', question_type: 'multi_choice', answer_type: 'text', answer: '8/11', choices: "['3/11', '8/11', '6/11', '3/5']", answer_option: 'B', precision: null };
  const r = await scoreItems('mathvista', 'internvl', [
    { id: 1, prediction: '8/11', ...base },
    { id: 2, prediction: 'B', ...base, extraction: 'B' },
    { id: 3, prediction: 'I think it is (B)', ...base },
    { id: 4, prediction: '1.449', question: 'q', question_type: 'free_form', answer_type: 'float', answer: '1.45', choices: null, precision: 2, extraction: '1.449' },
  ]);
  assert.deepEqual(r.items.map((i) => [i.correct, i.via]), [[true, 'rule'], [true, 'judge'], [false, 'none'], [true, 'judge']]);
  assert.match(r.judge.note!, /no judge/);
});
