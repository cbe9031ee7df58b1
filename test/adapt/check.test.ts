import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { checkMeta, lengthStats } from '../../src/adapt/format/check.ts';
import { writeMix } from '../../src/adapt/format/mix.ts';
import { minivlBatch } from '../helpers/cli.ts';
import { shared } from '../helpers/paths.ts';
import { rejectsWith, tempDir } from '../helpers/tmp.ts';

const line = (o: unknown) => JSON.stringify(o);
const ok = (i: number, image?: string) => line({ id: i, ...(image ? { image } : {}), conversations: [{ from: 'human', value: `${image ? '<image>\n' : ''}Q${i}` }, { from: 'gpt', value: `A${i}` }] });

async function fixture() {
  const dir = await tempDir();
  mkdirSync(join(dir, 'img'));
  await sharp({ create: { width: 800, height: 600, channels: 3, background: { r: 1, g: 2, b: 3 } } }).jpeg().toFile(join(dir, 'img', 'a.jpg'));
  writeFileSync(join(dir, 'img', 'broken.jpg'), 'not a jpeg');
  writeFileSync(join(dir, 'good.jsonl'), [ok(1, 'a.jpg'), ok(2, 'a.jpg'), ok(3), ok(4, 'a.jpg'), ok(5)].join('\n') + '\n');
  writeFileSync(join(dir, 'bad.jsonl'), [
    ok(1, 'a.jpg'),
    '{"id": 2, "image": "a.jpg", "conversations": [{"from": "human", "value": "Q"}, {"from": "human", "value": "Q"}]}',
    '{oops',
    line({ id: 4, image: 'gone.jpg', conversations: [{ from: 'human', value: 'Q' }, { from: 'gpt', value: '<box>[[0.1, 0.2, 0.3, 1200]]</box>' }] }),
    line({ id: 5, image: 'a.jpg', conversations: [{ from: 'human', value: 'Q' }, { from: 'gpt', value: '' }] }),
    ok(1, 'a.jpg'),
  ].join('\n') + '\n');
  const meta = join(dir, 'meta.json');
  writeFileSync(meta, JSON.stringify({
    good: { root: join(dir, 'img'), annotation: join(dir, 'good.jsonl'), data_augment: false, repeat_time: 0.5, length: 5 },
    bad: { root: join(dir, 'img'), annotation: join(dir, 'bad.jsonl'), data_augment: false, repeat_time: 2, length: 7 },
  }));
  return { dir, meta };
}

test('checkMeta: counts after repeat_time, shares, every error with file:line:field', async () => {
  const { dir, meta } = await fixture();
  const r = await checkMeta(meta);
  assert.equal(r.ok, false);
  const [good, bad] = r.datasets;
  assert.deepEqual([good!.lines, good!.effective, good!.checked, good!.errors], [5, 2, 2, 0]);
  assert.deepEqual([bad!.lines, bad!.effective, bad!.checked, bad!.badRecords, bad!.missingImages, bad!.lengthMismatch], [6, 12, 6, 4, 1, 7]);
  assert.equal(good!.share, 2 / 14);
  const bf = join(dir, 'bad.jsonl');
  // (JSON.parse's own wording varies between Node versions: only its start is compared.)
  assert.deepEqual(r.issues.map((i) => `${i.severity} ${i.file}:${i.line}: ${i.field}: ${i.message.replace(/^(not valid JSON) \(.*\)$/, '$1')}`), [
    `error ${bf}:2: conversations[1].from: expected "gpt" (turns must alternate human, gpt, ...), got "human"`,
    `error ${bf}:3: : not valid JSON`,
    `error ${bf}:4: conversations[1].value: box [0.1, 0.2, 0.3, 1200] is outside 0..1000 (boxes are normalised to 0–1000, not 0–1 or pixels)`,
    `error ${bf}:4: image: ${join(dir, 'img', 'gone.jpg')}: missing`,
    `error ${bf}:5: conversations[1].value: empty answer`,
    `warning ${bf}:6: id: duplicate id 1 (first on line 1)`,
  ]);
  assert.equal(r.errors, 5);
  assert.equal(r.warnings, 1);
});

test('checkMeta with a tokenizer: token lengths per template; a corrupt image is an error', async () => {
  const { dir } = await fixture();
  const meta = join(dir, 'm2.json');
  writeFileSync(join(dir, 'c.jsonl'), [ok(1, 'a.jpg'), ok(2), ok(3, 'broken.jpg')].join('\n') + '\n');
  writeFileSync(meta, JSON.stringify({ c: { root: join(dir, 'img'), annotation: join(dir, 'c.jsonl'), data_augment: false, repeat_time: 1, max_dynamic_patch: 6 } }));
  const [r] = minivlBatch([['adapt', 'check', '--meta', meta, '--json', '--tokenizer', shared('assets/tokenizers/internvl2-1b'), '--template', 'Hermes-2']]);
  assert.equal(r!.status, 1);
  const rep = JSON.parse(r!.stdout);
  const stats = rep.datasets[0].tokenLengths[`Hermes-2 ${shared('assets/tokenizers/internvl2-1b')}`];
  // 800x600 at max_dynamic_patch 6 → 3x2 + thumbnail = 7 tiles = 1792 image tokens (training.md §4.2).
  assert.equal(stats.count, 2);
  assert.ok(stats.max > 1792 && stats.max < 1792 + 80, String(stats.max));
  assert.ok(stats.min < 80, String(stats.min));
  assert.deepEqual(stats.histogram.filter((h: { count: number }) => h.count).map((h: { upTo: number }) => h.upTo), [256, 2048]);
  assert.equal(rep.errors, 1);
  assert.match(rep.issues[0].message, /broken\.jpg/);
});

test('minivl adapt check: text report, exit 0 / 1, one-line errors', async () => {
  const { dir, meta } = await fixture();
  const goodMeta = join(dir, 'g.json');
  writeFileSync(goodMeta, JSON.stringify({ good: JSON.parse(readFileSync(meta, 'utf8')).good }));
  const [bad, good, none] = minivlBatch([['adapt', 'check', '--meta', meta], ['adapt', 'check', '--meta', goodMeta], ['adapt', 'check', '--meta', join(dir, 'none.json')]]);
  assert.equal(bad!.status, 1);
  assert.match(bad!.stdout, /^error: .*bad\.jsonl:2: conversations\[1\]\.from: expected "gpt"/m);
  assert.match(bad!.stdout, /bad: .*\n  lines 6, repeat_time 2 → 12 used \(85\.71% of the mixture\); checked 6/);
  assert.match(bad!.stdout, /^FAILED: 2 dataset\(s\), 14 samples per epoch, 5 error\(s\), 1 warning\(s\)$/m);
  assert.equal(good!.status, 0, good!.stdout);
  assert.match(good!.stdout, /^OK: 1 dataset\(s\), 2 samples per epoch, 0 error\(s\)/m);
  assert.equal(none!.status, 1);
  assert.match(none!.stderr, /^minivl: error: --meta .*none\.json: no such file\n$/);
});

test('lengthStats buckets', () => {
  const s = lengthStats([10, 300, 300, 9000, 20000], 2);
  assert.deepEqual([s.min, s.median, s.max, s.overMaxLength], [10, 300, 20000, 2]);
  assert.deepEqual(s.histogram.filter((h) => h.count).map((h) => [h.upTo, h.count]), [[256, 1], [512, 2], [16384, 1], [null, 1]]);
});

test('adapt mix: general repeat_time so general = ratio × domain; never overwrites', async () => {
  const dir = await tempDir();
  writeFileSync(join(dir, 'd.jsonl'), Array.from({ length: 40 }, (_, i) => ok(i)).join('\n') + '\n');
  writeFileSync(join(dir, 'g1.jsonl'), Array.from({ length: 100 }, (_, i) => ok(i)).join('\n') + '\n');
  writeFileSync(join(dir, 'g2.jsonl'), Array.from({ length: 60 }, (_, i) => ok(i)).join('\n') + '\n');
  const domain = join(dir, 'domain.json');
  const general = join(dir, 'general.json');
  writeFileSync(domain, JSON.stringify({ drive: { root: '', annotation: join(dir, 'd.jsonl'), data_augment: false, repeat_time: 2 } }));
  writeFileSync(general, JSON.stringify({ g1: { root: 'x/', annotation: join(dir, 'g1.jsonl'), data_augment: false, repeat_time: 1 }, g2: { root: 'y/', annotation: join(dir, 'g2.jsonl'), data_augment: false, repeat_time: 1 } }));
  const out = join(dir, 'mix.json');
  const s = await writeMix({ domain, general, ratio: 0.25, out });
  // domain 80 samples → 20 general from 160 lines: r = 0.125 → 12 + 7 = 19 (head cuts floor).
  assert.equal(s.general_repeat_time, 0.125);
  assert.equal(s.domain_samples, 80);
  assert.equal(s.general_samples, 19);
  const m = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(Object.keys(m), ['drive', 'g1', 'g2']);
  assert.deepEqual(m.g1, { root: 'x/', annotation: join(dir, 'g1.jsonl'), data_augment: false, repeat_time: 0.125, length: 100 });
  await rejectsWith(writeMix({ domain, general, ratio: 0.25, out }), /mix\.json exists; pass --force/);
  const big = await writeMix({ domain, general, ratio: 5, out, force: true });
  assert.equal(big.general_repeat_time, 3); // 400 / 160 = 2.5 → the trainer needs an integer above 1
  assert.ok(existsSync(out));
  const report = await checkMeta(out);
  assert.equal(report.ok, true);
  assert.equal(report.totalEffective, 80 + 480);
});

test('minivl adapt: usage without a subcommand, one-line errors for unknown ones, --help per subcommand', () => {
  const [none, bogus, help, subHelp, missing] = minivlBatch([['adapt'], ['adapt', 'bogus'], ['adapt', '--help'], ['adapt', 'check', '--help'], ['adapt', 'sample', '--template', 'Hermes-2']]);
  assert.equal(none!.status, 2);
  assert.match(none!.stderr, /^usage: minivl adapt convert\|check\|preview\|mix\|sample/);
  assert.equal(bogus!.status, 1);
  assert.equal(bogus!.stderr, "minivl: error: adapt: unknown subcommand 'bogus' (convert, check, preview, mix, sample)\n");
  assert.equal(help!.status, 0);
  assert.match(subHelp!.stdout, /^usage: minivl adapt check --meta FILE\.json/);
  assert.equal(missing!.status, 1);
  assert.match(missing!.stderr, /^minivl: error: --tokenizer is required \(usage: minivl adapt sample/);
});
