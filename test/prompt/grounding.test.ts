import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGrounding, formatGrounding } from '../../src/prompt/index.ts';

test('ref + box in 0..1000 maps to pixels of the original image', () => {
  const r = parseGrounding('<ref>the middle leopard</ref><box>[[412, 221, 602, 785]]</box>', 1000, 500);
  assert.deepEqual(r, [{ ref: 'the middle leopard', normalized: [[412, 221, 602, 785]], boxes: [[412, 110.5, 602, 392.5]] }]);
});

test('several boxes for one ref, several refs, a lone box, a ref without box', () => {
  const text = 'There are <ref>ships</ref> <box>[[10, 20, 40, 60], [500, 510, 560, 580]]</box> and <ref>a dog</ref><box>[[0,0,1000,1000]]</box>; '
    + 'region <box>[[100, 100, 200, 200]]</box>, <ref>the sky</ref>.';
  const r = parseGrounding(text, 800, 600);
  assert.deepEqual(r.map((x) => x.ref), ['ships', 'a dog', null, 'the sky']);
  assert.deepEqual(r[0]!.boxes, [[8, 12, 32, 36], [400, 306, 448, 348]]);
  assert.deepEqual(r[1]!.boxes, [[0, 0, 800, 600]]);
  assert.deepEqual(r[2]!.boxes, [[80, 60, 160, 120]]);
  assert.deepEqual(r[3]!.boxes, []);
});

test('tag-stripped chat() answers: bare [[...]] lists are still found', () => {
  const r = parseGrounding('the dog[[120, 340, 560, 890]]', 1000, 1000);
  assert.deepEqual(r, [{ ref: null, normalized: [[120, 340, 560, 890]], boxes: [[120, 340, 560, 890]] }]);
  assert.deepEqual(parseGrounding('no box here [1, 2]', 10, 10), []);
});

test('formatGrounding writes the model syntax', () => {
  assert.equal(formatGrounding('ship', [[10, 20, 40, 60], [500, 510, 560, 580]]), '<ref>ship</ref><box>[[10, 20, 40, 60], [500, 510, 560, 580]]</box>');
});
