// The forgetting guard (`minivl finetune --eval-before-after`): a small benchmark (the eval tests' fixture
// files in the real formats) scored through the eval library before training on the source checkpoint
// and after it on OUT/merged, equal to what `minivl eval run` gives on each; a run killed mid-training
// and resumed does not score "before" again; bad guard flags are one clear line before anything runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { finetune } from '../../../src/adapt/train/trainer.ts';
import { EVAL_BEFORE_AFTER, type BeforeAfterReport } from '../../../src/adapt/train/eval-guard.ts';
import { writeRandomCheckpoint } from '../../../src/dev/random-checkpoint.ts';
import { BIN, minivl, minivlBatch } from '../../helpers/cli.ts';
import { ROOT } from '../../helpers/paths.ts';
import { rejectsWith, tempDir } from '../../helpers/tmp.ts';
import { writeFixture } from '../../eval/fixtures.ts';
import { storedItems } from '../../eval/run-helpers.ts';
import { writeFinetuneData } from './fixture.ts';

const dir = await tempDir('minivl-eval-guard-');
const model = join(dir, 'tiny-1b');
await writeRandomCheckpoint({ like: 'internvl2-1b', tiny: true, out: model });
const meta = await writeFinetuneData(join(dir, 'data'));
const fx = await writeFixture(join(dir, 'bench'));
const BENCHES = ['ai2d', 'chartqa'];
const EVAL = ['--limit', '2', '--max-num', '1', '--max-new-tokens', '4'];
const guardFlags = ['--eval-before-after', BENCHES.join(','), '--eval-data', fx.data, '--eval-limit', '2', '--eval-max-num', '1', '--eval-max-new-tokens', '4'];
const runFlags = (out: string) => ['finetune', '--model', model, '--meta', meta, '--mode', 'lora', '--lora-rank', '4', '--lr', '5e-3', '--max-steps', '12', '--save-steps', '2', '--threads', '1', '--out', out, ...guardFlags];
const out = join(dir, 'run');
const readReport = () => JSON.parse(readFileSync(join(out, EVAL_BEFORE_AFTER), 'utf8')) as BeforeAfterReport;

test('--eval-before-after: killed mid-training and resumed, "before" is not scored again; before/after equal minivl eval run on the base and merged checkpoints', async () => {
  const child = spawn(process.execPath, [BIN, ...runFlags(out)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  await new Promise<void>((res, rej) => {
    const t = setInterval(() => {
      if (existsSync(join(out, 'latest.json'))) { clearInterval(t); child.kill('SIGKILL'); res(); }
    }, 20);
    exited.then((code) => { clearInterval(t); if (code === 0) rej(new Error('the run finished before it could be killed')); });
  });
  await exited;
  assert.match(stderr, /eval before: ai2d [\d.]+, chartqa [\d.]+ \(/);
  const killed = readReport();
  assert.equal(killed.after, null);
  assert.deepEqual(Object.keys(killed.before.scores), BENCHES);
  assert.deepEqual(killed.before.items, { ai2d: 2, chartqa: 2 });
  const beforeItems = storedItems(killed.before.store);

  const resumed = minivl(...runFlags(out), '--resume');
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /eval before: scored earlier \(.*eval-before-after\.json\), not repeated/);
  assert.doesNotMatch(resumed.stderr, /eval before: loaded /); // the source checkpoint was not even loaded for it
  const r = readReport();
  assert.deepEqual(r.before, killed.before);
  assert.deepEqual(storedItems(r.before.store), beforeItems);
  assert.ok(r.after);
  assert.equal(r.after.model, join(out, 'merged'));
  for (const b of BENCHES) {
    assert.equal(typeof r.before.scores[b], 'number', b);
    assert.equal(r.delta![b], r.after.scores[b]! - r.before.scores[b]!, b);
    assert.match(resumed.stderr, new RegExp(`eval before/after: ${b}: before [\\d.]+  after [\\d.]+  delta [+-][\\d.]+`));
  }
  const printed = JSON.parse(resumed.stdout);
  assert.deepEqual(printed.eval_before_after, { before: r.before.scores, after: r.after.scores, delta: r.delta });

  // The same numbers and answers as `minivl eval run` with the same flags on each checkpoint.
  const phases = [['before', model], ['after', join(out, 'merged')]] as const;
  const evals = minivlBatch(phases.map(([phase, ckpt]) => ['eval', 'run', '--model', ckpt, '--bench', BENCHES.join(','), '--data', fx.data, '--out', join(dir, `eval-${phase}`), ...EVAL]));
  for (const [k, [phase]] of phases.entries()) {
    const ev = evals[k]!;
    assert.equal(ev.status, 0, ev.stderr);
    const summary = JSON.parse(ev.stdout) as { benches: { bench: string; score: number }[] };
    assert.deepEqual(Object.fromEntries(summary.benches.map((b) => [b.bench, b.score])), r[phase]!.scores, phase);
    const strip = (items: ReturnType<typeof storedItems>) => items.map(({ bench, id, prediction, output_ids }) => ({ bench, id, prediction, output_ids }));
    assert.deepEqual(strip(storedItems(r[phase]!.store)), strip(storedItems(join(dir, `eval-${phase}`, 'results.sqlite'))), phase);
  }
  // And "after" answered with the adapted model, not the source one.
  assert.notDeepEqual(storedItems(r.after.store).map((i) => i.output_ids), beforeItems.map((i) => i.output_ids));
});

test('a meta without lines fails before anything is written; a run stopped before its first checkpoint (records that cannot be built, found after "before") resumes from step 0 and keeps "before"', async () => {
  const late = join(dir, 'late-meta.json');
  writeFileSync(join(dir, 'late.jsonl'), '');
  writeFileSync(late, JSON.stringify({ late: { root: dir, annotation: join(dir, 'late.jsonl'), repeat_time: 1 } }));
  const never = join(dir, 'late-never');
  await rejectsWith(finetune({ modelDir: model, metaFile: late, outDir: never, mode: 'lora', maxSteps: 1, threads: 1 }), /late-meta\.json: the datasets hold no lines/);
  assert.equal(existsSync(never), false);
  // A record whose image is missing passes the meta check and fails only when training builds it.
  writeFileSync(join(dir, 'late.jsonl'), `${JSON.stringify({ id: 0, image: 'missing.png', conversations: [{ from: 'human', value: '<image>\nWhat is it?' }, { from: 'gpt', value: 'Nothing.' }] })}\n`);
  const lines: string[] = [];
  const evalGuard = { bench: 'ai2d', dataDir: fx.data, limit: 1, maxNum: 1, maxNewTokens: 2, threads: 1, log: (l: string) => lines.push(l) };
  const o = { modelDir: model, metaFile: late, outDir: join(dir, 'late'), mode: 'lora' as const, loraRank: 2, maxSteps: 2, threads: 1, evalGuard };
  await rejectsWith(finetune(o), /11 records in a row could not be built/);
  assert.equal(existsSync(join(o.outDir, 'latest.json')), false);
  const first = JSON.parse(readFileSync(join(o.outDir, EVAL_BEFORE_AFTER), 'utf8')) as BeforeAfterReport;
  writeFileSync(late, readFileSync(meta)); // the meta fixed
  lines.length = 0;
  const r = await finetune({ ...o, resume: true });
  assert.equal(r.steps, 2);
  assert.deepEqual(r.evalBeforeAfter!.before, first.before);
  assert.ok(lines.some((l) => /^eval before: scored earlier/.test(l)), lines.join('\n'));
  assert.ok(!lines.some((l) => /^eval before: loaded /.test(l)), 'the source checkpoint was loaded again for "before"');
  assert.ok(lines.some((l) => /^eval after: loaded .*merged/.test(l)), lines.join('\n'));
});

test('--eval-before-after: bad benchmarks and data are one line before anything is written; a resume must keep the guard and its settings', async () => {
  const base = { modelDir: model, metaFile: meta, mode: 'lora' as const, maxSteps: 1, threads: 1 };
  const fresh = join(dir, 'never');
  await rejectsWith(finetune({ ...base, outDir: fresh, evalGuard: { bench: 'ai2d,nope', dataDir: fx.data } }), /^--eval-before-after: unknown benchmark 'nope' \(known: /);
  await rejectsWith(finetune({ ...base, outDir: fresh, evalGuard: { bench: 'docvqa-test', dataDir: fx.data } }), /^--eval-before-after: docvqa-test has no local metric/);
  const empty = join(dir, 'empty-bench');
  mkdirSync(empty);
  await rejectsWith(finetune({ ...base, outDir: fresh, evalGuard: { bench: 'chartqa', dataDir: empty } }), /^--eval-before-after: chartqa \(internvl\): no data file under .*empty-bench \(expected chartqa\/test_human\.jsonl\)/);
  assert.equal(existsSync(fresh), false);

  // The finished run of the test above: other guard settings, or none, are refused on resume.
  const same = { ...base, maxSteps: 12, loraRank: 4, lr: 5e-3, saveSteps: 2, outDir: out, resume: true };
  await rejectsWith(finetune({ ...same, evalGuard: { bench: 'ai2d,chartqa', dataDir: fx.data, limit: 1, maxNum: 1, maxNewTokens: 4 } }), /eval-before-after\.json: the forgetting guard of this run used other settings .*resume with the same --eval-\* flags/);
  await rejectsWith(finetune(same), /the run was started with --eval-before-after \(see eval-before-after\.json\); resume with the same flags/);
});
