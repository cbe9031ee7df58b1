// evaluation.md §3: MathVista prefetch / final check (VLMEvalKit) and InternVL normalisation examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractionPrompt, normalizeExtracted, postCheck, type MathVistaItem } from '../../../src/eval/metrics/mathvista.ts';

const MC: MathVistaItem = { question: 'q', questionType: 'multi_choice', answerType: 'text', answer: '8/11', choices: ['3/11', '8/11', '6/11', '3/5'], answerOption: 'B' };
const INT: MathVistaItem = { question: 'q', questionType: 'free_form', answerType: 'integer', answer: '14', choices: [] };
const FLOAT: MathVistaItem = { ...INT, answerType: 'float', answer: '1.45', precision: 2 };
const LIST: MathVistaItem = { ...INT, answerType: 'list', answer: '[2007, 2008]' };

test('VLMEvalKit: prefetch and final check of every row', () => {
  assert.equal(postCheck(MC, 'B', true), 'B');
  assert.equal(postCheck(MC, 'B', false), true);
  assert.equal(postCheck(MC, 'The answer is 8/11', true), 'B');
  assert.equal(postCheck(INT, '14', true), 14);
  assert.equal(postCheck(INT, '14', false), true);
  assert.equal(postCheck(INT, 'The missing number is 14.', true), false); // → judge, whose res "14" is right:
  assert.equal(postCheck(INT, '14', false), true);
  assert.equal(postCheck(FLOAT, '1.450', true), 1.45);
  assert.equal(postCheck(INT, '14.0', true), false);
  assert.equal(postCheck(INT, '14.0', false), false); // pyInt fails
  assert.equal(postCheck(LIST, '[2007, 2008]', true), false);
  assert.equal(postCheck(LIST, '[2007, 2008]', false), false); // quirk §11.3: never credited
});

test('quirk §11.3 fixed: text/list answers compare as normalised strings', () => {
  assert.equal(postCheck(LIST, '[2007,2008]', false, { freeForm: true }), true);
  assert.equal(postCheck({ ...LIST, answerType: 'text', answer: 'Blue' }, ' blue', false, { freeForm: true }), true);
  assert.equal(postCheck(LIST, '[2007, 2009]', false, { freeForm: true }), false);
});

test('a prefetched 0 is falsy: the reference then asks the judge', () => {
  assert.equal(postCheck({ ...INT, answer: '0' }, '0', true), 0);
});

test('InternVL normalize_extracted_answer + safe_equal examples', () => {
  assert.equal(normalizeExtracted(MC, 'B'), '8/11');
  assert.equal(normalizeExtracted(MC, '(B) 8/11'), '8/11');
  assert.equal(normalizeExtracted(MC, '6/12'), '6/11'); // closest choice → wrong
  assert.equal(normalizeExtracted(INT, '14.0'), '14');
  assert.equal(normalizeExtracted(FLOAT, '1.449'), '1.45');
  assert.equal(normalizeExtracted(LIST, '[2007, 2008]'), '[2007, 2008]');
  assert.equal(normalizeExtracted(INT, 'abc'), null);
});

test('the extraction prompt ends exactly as the reference sends it', () => {
  const p = extractionPrompt('Question: How many?', 'It is 3.');
  assert.ok(p.startsWith('\nPlease read the following example.\nThen extract the answer'));
  assert.ok(p.endsWith('Extracted answer: B\n\nQuestion: How many?\nModel respone: It is 3.Extracted answer:'));
});
