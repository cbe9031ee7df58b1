import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeBox, parseBoxes, roundHalfEven, formatBox } from '../../src/adapt/format/boxes.ts';
import { datasetLines, effectiveLineCount, parseMeta, readMeta, resolveMediaPath } from '../../src/adapt/format/meta.ts';
import { recordKind } from '../../src/adapt/format/record.ts';
import { formatIssue, parseRecordLine, validateRecord } from '../../src/adapt/format/validate.ts';
import { rejectsWith, tempDir } from '../helpers/tmp.ts';

test('box normalisation: the spec vectors (151/381/291/514, 562.5 → 562 half-even)', () => {
  assert.deepEqual(normalizeBox([121, 305, 233, 411], 800, 800), [151, 381, 291, 514]);
  assert.equal(normalizeBox([450, 0, 450, 0], 800, 800)[0], 562);
  assert.equal(roundHalfEven(562.5), 562);
  assert.equal(roundHalfEven(513.75), 514);
  assert.equal(roundHalfEven(563.5), 564);
  assert.equal(formatBox([[151, 381, 291, 514]]), '<box>[[151, 381, 291, 514]]</box>');
  assert.equal(formatBox([[10, 20, 40, 60], [500, 510, 560, 580]]), '<box>[[10, 20, 40, 60], [500, 510, 560, 580]]</box>');
  assert.deepEqual(parseBoxes('<ref>a</ref><box>[[1, 2, 3, 4], [5, 6, 7, 8]]</box>')[0]!.boxes, [[1, 2, 3, 4], [5, 6, 7, 8]]);
});

test('repeat_time: the spec worked examples (head cut floor(n·r), integer repeats)', () => {
  const lengths = [102025, 665058, 157712, 200000, 18317, 12413, 10211, 72318, 29765];
  assert.equal(lengths.reduce((a, b) => a + b, 0), 1267819);
  const at02 = lengths.map((n) => effectiveLineCount(n, 0.2));
  assert.deepEqual(at02, [20405, 133011, 31542, 40000, 3663, 2482, 2042, 14463, 5953]);
  assert.equal(at02.reduce((a, b) => a + b, 0), 253561);
  const at003 = lengths.map((n) => effectiveLineCount(n, 0.03));
  assert.deepEqual(at003, [3060, 19951, 4731, 6000, 549, 372, 306, 2169, 892]);
  assert.equal(at003.reduce((a, b) => a + b, 0), 38030);
  assert.equal(effectiveLineCount(26000, 3), 78000);
});

test('datasetLines: a head cut keeps the first lines in file order; r > 1 repeats the list', () => {
  const lines = ['a', 'b', 'c', 'd', 'e'];
  const ds = { name: 'x', root: '', rootPath: '/', annotation: 'x.jsonl', annotationPath: '/x.jsonl', dataAugment: false };
  assert.deepEqual([...datasetLines({ ...ds, repeatTime: 0.5 }, lines)].map((l) => l.text), ['a', 'b']);
  assert.deepEqual([...datasetLines({ ...ds, repeatTime: 0.5 }, lines)].map((l) => l.lineNo), [1, 2]);
  assert.deepEqual([...datasetLines({ ...ds, repeatTime: 1 }, lines)].map((l) => l.text), lines);
  assert.deepEqual([...datasetLines({ ...ds, repeatTime: 2 }, lines)].map((l) => l.text), [...lines, ...lines]);
  assert.deepEqual([...datasetLines({ ...ds, repeatTime: 0.1 }, lines)], []);
});

test('meta file: every problem is reported with its dataset and key', () => {
  const { meta, issues } = parseMeta(JSON.stringify({
    ok: { root: 'imgs/', annotation: 'a.jsonl', data_augment: false, repeat_time: 0.2, length: 10, max_dynamic_patch: 6 },
    frac: { root: '', annotation: 'b.jsonl', repeat_time: 1.5 },
    json: { root: '', annotation: 'c.json', repeat_time: 1 },
    nort: { annotation: 'd.jsonl', repeat_time: 1 },
    mdp: { root: '', annotation: 'e.jsonl', repeat_time: 1, max_dynamic_patch: 0 },
  }), 'm.json', { baseDir: '/base' });
  assert.deepEqual(issues.map((i) => i.field), ['frac.repeat_time', 'json.annotation', 'nort.root', 'mdp.max_dynamic_patch']);
  assert.match(issues[0]!.message, /above 1 must be integers/);
  assert.equal(meta.datasets.length, 1);
  assert.deepEqual(meta.datasets[0], { name: 'ok', root: 'imgs/', rootPath: '/base/imgs', annotation: 'a.jsonl', annotationPath: '/base/a.jsonl', dataAugment: false, repeatTime: 0.2, maxDynamicPatch: 6, length: 10 });
  assert.equal(resolveMediaPath('s3://bucket/', 'x.jpg'), 's3://bucket/x.jpg');
  assert.equal(resolveMediaPath('/r', '/abs/x.jpg'), '/abs/x.jpg');
  assert.equal(resolveMediaPath('/r', 'x.jpg'), '/r/x.jpg');
});

test('readMeta: one-line errors for unreadable and invalid files', async () => {
  const dir = await tempDir();
  const f = join(dir, 'm.json');
  writeFileSync(f, '{"a": {"root": "", "annotation": "a.jsonl", "repeat_time": -1}}');
  await rejectsWith(() => readMeta(f), /m\.json: a\.repeat_time: must be ≥ 0, got -1/);
  await rejectsWith(() => readMeta(join(dir, 'none.json')), /cannot read the meta file \(ENOENT\)/);
  writeFileSync(f, '[1]');
  await rejectsWith(() => readMeta(f), /expected a JSON object/);
});

const loc = { file: 'd.jsonl', line: 7 };
const issuesOf = (rec: unknown) => validateRecord(rec, loc).issues.map((i) => `${i.severity} ${i.field}: ${i.message}`);

test('record kinds in the reference priority order', () => {
  assert.equal(recordKind({ image: 'a.jpg' }), 'image');
  assert.equal(recordKind({ image: ['a.jpg', 'b.jpg'] }), 'multi-image');
  assert.equal(recordKind({ image: '', video: 'v' }), 'video');
  assert.equal(recordKind({ image: [] }), 'text');
  assert.equal(recordKind({}), 'text');
});

test('validation: a good record of each kind has no issues', () => {
  assert.deepEqual(issuesOf({ id: 1, image: 'a.jpg', conversations: [{ from: 'human', value: 'What?' }, { from: 'gpt', value: 'A <ref>dog</ref><box>[[0, 10, 1000, 990]]</box>' }] }), []);
  assert.deepEqual(issuesOf({ image: ['a.jpg', 'b.jpg'], width_list: [1, 2], height_list: [1, 2], conversations: [{ from: 'human', value: 'Image-1: <image>\nImage-2: <image>\nQ' }, { from: 'gpt', value: 'A' }] }), []);
  assert.deepEqual(issuesOf({ video: 'v', conversations: [{ from: 'human', value: 'Q' }, { from: 'gpt', value: 'A' }] }), []);
  assert.deepEqual(issuesOf({ conversations: [{ from: 'human', value: 'Q' }, { from: 'gpt', value: 'A' }] }), []);
});

test('validation: turn order, placeholders, boxes, empty answers — each with its field', () => {
  assert.deepEqual(issuesOf({ image: 'a.jpg', conversations: [{ from: 'human', value: 'Q' }, { from: 'human', value: 'Q2' }] }),
    ['error conversations[1].from: expected "gpt" (turns must alternate human, gpt, ...), got "human"']);
  assert.deepEqual(issuesOf({ image: 'a.jpg', conversations: [{ from: 'human', value: 'Q' }] }), ['error conversations: no gpt answer: nothing would be supervised']);
  assert.deepEqual(issuesOf({ image: 'a.jpg', conversations: [{ from: 'human', value: '<image>\nQ <image>' }, { from: 'gpt', value: 'A' }] }),
    ['error conversations: 2 <image> placeholders for 1 image (the extra ones would stay literal text)']);
  assert.deepEqual(issuesOf({ image: ['a', 'b'], conversations: [{ from: 'human', value: '<image>\nQ' }, { from: 'gpt', value: 'A' }] }),
    ['error conversations: 1 <image> placeholder(s) for 2 images (multi-image records need one per image, e.g. "Image-1: <image>\\n...")']);
  assert.deepEqual(issuesOf({ conversations: [{ from: 'human', value: '<image>\nQ' }, { from: 'gpt', value: 'A' }] }),
    ['error conversations: a text-only record (no "image") contains <image>; add the image or remove the placeholder']);
  assert.deepEqual(issuesOf({ image: 'a.jpg', conversations: [{ from: 'human', value: 'Q' }, { from: 'gpt', value: '<box>[[0.1, 0.2, 0.5, 0.9]]</box> <box>[[100, 20, 1200, 900]]</box>' }] }),
    ['error conversations[1].value: box [100, 20, 1200, 900] is outside 0..1000 (boxes are normalised to 0–1000, not 0–1 or pixels)']);
  assert.deepEqual(issuesOf({ image: 'a.jpg', conversations: [{ from: 'human', value: 'Q' }, { from: 'gpt', value: '  ' }] }), ['error conversations[1].value: empty answer']);
  assert.deepEqual(issuesOf({ image: 'a.jpg', conversations: [{ from: 'system', value: 'S' }, { from: 'gpt', value: 'A' }] })[0],
    'error conversations[0].from: must be "human" or "gpt", got "system" (the InternVL2 templates have no system turn; the system prompt comes from the template)');
  assert.deepEqual(issuesOf({ image: 'a.jpg', conversations: [{ from: 'human', value: 'Q' }, { from: 'gpt', value: 'see <c1,CAM_BACK,[560,1776]>' }] }),
    ['error conversations[1].value: object tag <c1,CAM_BACK,[560,1776]> is outside the stitched image\'s 0..1000 range']);
  assert.deepEqual(issuesOf({ image: 'a.jpg', width: 0, conversations: [] }), ['error width: must be a positive integer, got 0', 'error conversations: is empty']);
});

test('validation: a leading gpt turn is dropped as the trainer does (and may leave no <image>)', () => {
  assert.deepEqual(issuesOf({ image: 'a.jpg', conversations: [{ from: 'gpt', value: 'x' }, { from: 'human', value: '<image>\nQ' }, { from: 'gpt', value: 'A' }] }),
    ['warning conversations[0].from: the first turn is from gpt; the trainer drops it']);
  // `<image>\n` goes onto the raw first (gpt) turn, which is then dropped: no image tokens remain.
  assert.deepEqual(issuesOf({ image: 'a.jpg', conversations: [{ from: 'gpt', value: 'x' }, { from: 'human', value: 'Q' }, { from: 'gpt', value: 'A' }] }), [
    'warning conversations[0].from: the first turn is from gpt; the trainer drops it',
    'error conversations: no <image> placeholder left after the leading gpt turn is dropped (the trainer rejects the record)',
  ]);
});

test('parseRecordLine: file:line: field: message', async () => {
  await rejectsWith(() => parseRecordLine({ file: 'd.jsonl', lineNo: 3, text: '{"conversations": 5}' }), /^d\.jsonl:3: conversations: missing or not a list/);
  await rejectsWith(() => parseRecordLine({ file: 'd.jsonl', lineNo: 4, text: '{oops' }), /^d\.jsonl:4: not valid JSON/);
  assert.equal(formatIssue({ severity: 'error', file: 'f', line: 2, field: 'image', message: 'missing' }), 'f:2: image: missing');
});
