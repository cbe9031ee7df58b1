import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chooseGrid, candidateGrids } from '../../src/image/index.ts';
import { shared } from '../helpers/paths.ts';

test('all 5,040 rows of golden grid.json', () => {
  const g = JSON.parse(readFileSync(shared('golden/preprocess/grid.json'), 'utf8')) as { image_size: number; rows: number[][] };
  assert.equal(g.rows.length, 5040);
  const bad: string[] = [];
  for (const [w, h, minNum, maxNum, cols, rows] of g.rows as [number, number, number, number, number, number][]) {
    const [c, r] = chooseGrid(w, h, minNum, maxNum, g.image_size);
    if (c !== cols || r !== rows) bad.push(`${w}x${h} min ${minNum} max ${maxNum}: got ${c}x${r}, want ${cols}x${rows}`);
  }
  assert.deepEqual(bad, []);
});

test('worked examples of preprocessing.md §6', () => {
  const cases: [number, number, string, string, string][] = [
    [448, 448, '1x1', '1x1', '1x1'], [500, 500, '1x1', '1x1', '1x1'], [1000, 1000, '2x2', '3x3', '3x3'],
    [800, 600, '3x2', '4x3', '4x3'], [640, 480, '3x2', '4x3', '4x3'], [640, 427, '3x2', '3x2', '3x2'],
    [1920, 1080, '2x1', '4x2', '5x3'], [1080, 1920, '1x2', '2x4', '3x5'], [2000, 1000, '2x1', '4x2', '6x3'],
    [896, 448, '2x1', '2x1', '2x1'], [300, 900, '1x3', '1x3', '1x3'], [3000, 100, '6x1', '12x1', '24x1'],
    [224, 224, '1x1', '1x1', '1x1'],
  ];
  for (const [w, h, ...want] of cases) {
    [6, 12, 24].forEach((m, k) => assert.equal(chooseGrid(w, h, 1, m).join('x'), want[k], `${w}x${h} max ${m}`));
  }
});

test('candidate grids: counts per max_num as in the spec', () => {
  assert.equal(candidateGrids(1, 6).length, 14);
  assert.equal(candidateGrids(1, 12).length, 35);
  assert.equal(candidateGrids(1, 18).length, 58);
  assert.equal(candidateGrids(1, 24).length, 84);
});
