// evaluation.md §5: the ChartQA worked-example table, reference (swapped arguments) and textbook columns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chartqaScore, toFloat } from '../../../src/eval/metrics/relaxed.ts';

const ROWS: [string, string, number, number][] = [
  // g, a, reference, textbook
  ['100', '95', 0, 1],
  ['100', '96', 1, 1],
  ['100', '105', 1, 1],
  ['95', '100', 1, 0],
  ['12%', '0.12', 1, 1],
  ['0.12', '12%', 1, 1],
  ['Yes', 'yes', 1, 1],
  ['0', '0', 1, 1],
  ['0', '0.0', 0, 1],
  ['10', '0', 0, 0],
  ['2019', '2019.0', 1, 1],
  ['1,000', '1000', 0, 0],
  ['45', '45 ', 1, 1],
];

test('ChartQA relaxed accuracy: every row, reference and textbook (quirk §11.1 fixed)', () => {
  for (const [g, a, ref, textbook] of ROWS) {
    assert.equal(chartqaScore([g], a), ref, `reference g=${g} a=${a}`);
    assert.equal(chartqaScore([g], a, true), textbook, `textbook g=${g} a=${a}`);
  }
});

test('ChartQA: item score is the max over annotations; % strips every trailing %', () => {
  assert.equal(chartqaScore(['100', '95'], '95'), 1);
  assert.equal(toFloat('12%%'), 0.12);
  assert.equal(toFloat('1,000'), null);
});
