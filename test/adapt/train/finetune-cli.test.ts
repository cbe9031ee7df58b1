// `minivl finetune` on the command line: progress on stderr (loss, lr, tokens/s, ETA per step), and bad
// input as one `minivl: error:` line with a non-zero exit and nothing written. All cases run through
// main() in one child process (minivlBatch), in order: the resume case uses the first case's run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeRandomCheckpoint } from '../../../src/dev/random-checkpoint.ts';
import { minivlBatch } from '../../helpers/cli.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { writeFinetuneData } from './fixture.ts';

const dir = await tempDir('minivl-finetune-cli-');
const model = join(dir, 'tiny-1b');
await writeRandomCheckpoint({ like: 'internvl2-1b', tiny: true, out: model });
const meta = await writeFinetuneData(join(dir, 'data'));
const emptyMeta = join(dir, 'empty-meta.json');
writeFileSync(join(dir, 'empty.jsonl'), '');
writeFileSync(emptyMeta, JSON.stringify({ nothing: { root: dir, annotation: join(dir, 'empty.jsonl'), repeat_time: 1 } }));

const run = join(dir, 'run');
const base = (out: string, m = meta) => ['finetune', '--model', model, '--meta', m, '--mode', 'lora', '--lora-rank', '2', '--max-steps', '3', '--save-steps', '1', '--threads', '1', '--out', out];

test('minivl finetune: a progress line per step on stderr; bad input is one clear line, a non-zero exit and no run folder', () => {
  const errors: Array<[string[], RegExp, string?]> = [
    [[...base(run), '--resume', '--lr', '1e-3'], /^minivl: error: .*run: the run was started with other settings \(see run\.json\); resume with the same flags$/],
    [[...base(join(dir, 'e1'), join(dir, 'none.json'))], /^minivl: error: --meta .*none\.json: no such file$/, 'e1'],
    // (found once the checkpoint is open, after OUT was made: OUT stays, empty)
    [[...base(join(dir, 'e2'), emptyMeta)], /^minivl: error: .*empty-meta\.json: the datasets hold no lines$/],
    [[...base(join(dir, 'e3')), '--eval-before-after', 'ai2d,nope', '--eval-data', dir], /^minivl: error: --eval-before-after: unknown benchmark 'nope' \(known: /, 'e3'],
    [[...base(join(dir, 'e4')), '--eval-before-after', 'ai2d'], /^minivl: error: --eval-before-after needs --eval-data DIR/, 'e4'],
    [[...base(join(dir, 'e5')), '--eval-before-after', 'ai2d', '--eval-data', join(dir, 'no-such')], /^minivl: error: --eval-data .*no-such: no such folder$/, 'e5'],
    [[...base(join(dir, 'e6')), '--eval-limit', '2'], /^minivl: error: --eval-limit needs --eval-before-after BENCH$/, 'e6'],
    [[...base(join(dir, 'e7')), '--merged-dtype', 'f16'], /^minivl: error: --merged-dtype must be bf16 or f32, got 'f16'$/, 'e7'],
    [[...base(join(dir, 'e8')), '--resume', '--force'], /^minivl: error: --resume and --force exclude each other$/, 'e8'],
  ];
  const [ok, ...bad] = minivlBatch([base(run), ...errors.map(([argv]) => argv)]);
  assert.equal(ok!.status, 0, ok!.stderr);
  const steps = ok!.stderr.split('\n').filter((l) => l.startsWith('step '));
  assert.equal(steps.length, 3, ok!.stderr);
  steps.forEach((l, i) => assert.match(l, new RegExp(`^step ${i + 1}/3  loss \\d+\\.\\d{4}  lr \\d\\.\\d{2}e[+-]\\d+  \\d+ tok/s  ETA \\d+:\\d{2}$`)));
  assert.equal(JSON.parse(ok!.stdout).steps, 3);

  bad.forEach((r, i) => {
    const [argv, pattern, fresh] = errors[i]!;
    assert.notEqual(r.status, 0, argv.join(' '));
    assert.equal(r.stdout, '', argv.join(' '));
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trimEnd(), pattern);
    if (fresh) assert.equal(existsSync(join(dir, fresh)), false, `${fresh} was created`);
  });
});
