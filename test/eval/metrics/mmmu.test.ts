// evaluation.md §2.4: the official MMMU parsing table, parse_multi_choice_response examples, MMMU_preproc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evalOpen, extractNumbers, mmmuPreproc, normalizeStr, parseMultiChoiceResponse, parseOpenResponse } from '../../../src/eval/metrics/mmmu.ts';
import { seededRandom } from '../../../src/eval/metrics/mcq.ts';

const sorted = (xs: (string | number)[]) => [...xs].sort((a, b) => String(a).localeCompare(String(b)));

test('parse_open_response + eval_open: every row of the table', () => {
  const rows: [string, string | string[], (string | number)[], boolean][] = [
    ['1.06', '1.06', [1.06], true],
    ['The answer is 12.97 mL', '12.97', ['12.97 ml', 12.97], true],
    ['4', '4', [4], true],
    ['0.015625', '1/64', [0.02], false],
    ['so the result is 3.4286', ['24/7', '3.429'], [3.43], true],
    ['It is C', 'C', [' c', 'c '], true],
    ['1,000', '1000', [1000, 0], true],
    ['5.0', '5', [5], true],
  ];
  for (const [resp, gold, preds, correct] of rows) {
    const parsed = parseOpenResponse(resp);
    assert.deepEqual(sorted(parsed), sorted(preds), resp);
    assert.equal(evalOpen(gold, parsed), correct, resp);
  }
});

test('normalize_str and extract_numbers', () => {
  assert.deepEqual(normalizeStr(' 1,000 '), [1000]);
  assert.deepEqual(normalizeStr('C'), [' c', 'c ']);
  assert.deepEqual(normalizeStr('24/7'), ['24/7']);
  // as Python's re.findall: the simple pattern also finds '2' and '3' inside 2.5e3
  assert.deepEqual(extractNumbers('1,000 and 2.5e3 and -7'), ['1,000', '2.5e3', '000', '2', '3', '-7']);
});

test('parse_multi_choice_response examples', () => {
  const ch = { A: 'apple', B: 'banana split', C: 'cherry', D: 'date' };
  const rnd = seededRandom(1);
  assert.equal(parseMultiChoiceResponse('(B)', ch, rnd), 'B');
  assert.equal(parseMultiChoiceResponse('The correct answer is (A) since it fits, not (C)', ch, rnd), 'C');
  assert.equal(parseMultiChoiceResponse('I choose B or C', ch, rnd), 'C');
  assert.equal(parseMultiChoiceResponse('I would say that the dessert shown is a banana split for sure', ch, rnd), 'B');
  assert.ok(['A', 'B', 'C', 'D'].includes(parseMultiChoiceResponse('no idea', ch, rnd)));
});

test('MMMU_preproc: an open question becomes A = answer, B = "Other Answers", GT A', () => {
  assert.deepEqual(mmmuPreproc({}, '1.06'), { choices: { A: '1.06', B: 'Other Answers' }, gt: 'A' });
  assert.deepEqual(mmmuPreproc({ A: 'x', B: 'y' }, 'B'), { choices: { A: 'x', B: 'y' }, gt: 'B' });
});
