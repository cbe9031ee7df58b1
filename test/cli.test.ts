// The CLI contract shared by every command: help, usage errors and file arguments give one clear line
// (`minivl: error: ...`) and a non-zero exit, never a stack trace; checks run before any slow work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { minivl, minivlBatch, type CliResult } from './helpers/cli.ts';
import { GOLDEN } from './helpers/paths.ts';
import { tempDir } from './helpers/tmp.ts';

/** Exactly one stderr line, `minivl: error: ...`, nothing on stdout, exit 1; returns the message. */
function oneErrorLine(r: CliResult): string {
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^minivl: error: [^\n]+\n$/);
  return r.stderr.slice('minivl: error: '.length, -1);
}

test('minivl with an unknown command exits 2 with a usage line', () => {
  const r = minivl('frobnicate');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});

const FLAGS: Record<string, string[]> = {
  parity: ['--model', '--golden', '--pixel-values', '--help'],
  tokenize: ['--tokenizer', '--texts', '--no-special-tokens', '--help'],
  preprocess: ['--image', '--max-num', '--min-num', '--out', '--no-thumbnail', '--help'],
  chat: ['--model', '--image', '--max-num', '--max-new-tokens', '--min-new-tokens', '--do-sample', '--temperature', '--top-k', '--top-p',
    '--repetition-penalty', '--seed', '--stop', '--system', '--boxes', '--dump-prompt-ids', '--interactive', '--help'],
  dev: ['random-checkpoint', '--like', '--tiny', '--seed', '--out'],
};

test('--help of minivl and of every command: a usage naming every flag on stdout, exit 0; `minivl help CMD` is the same', () => {
  const names = Object.keys(FLAGS);
  const rs = minivlBatch([['--help'], ['help'], [], ...names.map((n) => [n, '--help']), ...names.map((n) => ['help', n]), ['dev', 'random-checkpoint', '-h']]);
  const [top, help, bare] = rs;
  assert.equal(top!.status, 0);
  assert.match(top!.stdout, /^usage: minivl <command>/);
  for (const n of names) assert.match(top!.stdout, new RegExp(`\\n  ${n} `));
  assert.match(top!.stdout, /minivl <command> --help/);
  assert.deepEqual(help, top);
  // No command at all is a usage error: the usage goes to stderr, exit 2.
  assert.deepEqual(bare, { status: 2, stdout: '', stderr: top!.stdout });
  names.forEach((n, i) => {
    const r = rs[3 + i]!;
    assert.equal(r.status, 0, `${n}: ${r.stderr}`);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, new RegExp(`^usage: minivl ${n} `));
    for (const f of FLAGS[n]!) assert.ok(r.stdout.includes(f), `minivl ${n} --help does not mention ${f}`);
    assert.deepEqual(rs[3 + names.length + i], r, `minivl help ${n}`);
  });
  assert.deepEqual(rs.at(-1), rs[3 + names.indexOf('dev')]);
  // `minivl dev` without a tool is a usage error like `minivl` alone.
  const [devBare] = minivlBatch([['dev']]);
  assert.deepEqual(devBare, { status: 2, stdout: '', stderr: rs[3 + names.indexOf('dev')]!.stdout });
});

test('flag errors are one line naming the command and the flag', () => {
  const rs = minivlBatch([
    ['tokenize', '--bogus'],
    ['chat', '--model', 'x', '-q', 'hi'],
    ['preprocess', '--image', 'a.png', '--max-num', '-3', '--out', 'x.u8'],
    ['chat', '--model'],
    ['tokenize', '--tokenizer', 'a', '--texts', 'b', 'extra'],
    ['chat', '--help=yes'],
    ['parity', '--model', 'x'],
  ]);
  assert.deepEqual(rs.map(oneErrorLine), [
    "tokenize: unknown option '--bogus' (see minivl tokenize --help)",
    "chat: unknown option '-q' (see minivl chat --help)",
    "preprocess: --max-num needs a value (write a value that starts with '-' as --max-num=-N)",
    'chat: --model needs a value (see minivl chat --help)',
    "tokenize: unexpected argument 'extra'; this command takes only flags (see minivl tokenize --help)",
    'chat: --help takes no value (see minivl chat --help)',
    '--golden is required (usage: minivl parity --model DIR --golden FILE --pixel-values FILE [--dtype P] [--device D] [--lora-golden FILE])',
  ]);
});

test('parity: file arguments are checked up front and the message names the flag and the path given', async () => {
  const dir = await tempDir('minivl-cli-');
  const QWEN = join(GOLDEN, 'models', 'qwen2');
  const golden = join(QWEN, 'golden.safetensors');
  const missing = join(dir, 'nope.safetensors');
  const rs = minivlBatch([
    ['parity', '--model', QWEN, '--golden', missing, '--pixel-values', golden],
    ['parity', '--model', join(QWEN, 'config.json'), '--golden', golden, '--pixel-values', golden],
    ['parity', '--model', join(dir, 'none'), '--golden', golden, '--pixel-values', golden],
    ['parity', '--model', QWEN, '--golden', golden, '--pixel-values', dir],
  ]);
  assert.deepEqual(rs.map(oneErrorLine), [
    `--golden ${missing}: no such file`,
    `--model ${join(QWEN, 'config.json')}: is a file, expected a folder`,
    `--model ${join(dir, 'none')}: no such folder`,
    `--pixel-values ${dir}: is a folder, expected a file`,
  ]);
});

test('chat: bad flags, images and output paths fail before the model loads', async () => {
  const dir = await tempDir('minivl-cli-');
  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'not an image');
  // The model folder does not exist: any error about it would mean the flags were checked too late.
  const model = join(dir, 'no-model');
  const img = join(GOLDEN, 'images', 'tiny_100x50.png');
  const rs = minivlBatch([
    ['chat', '--model', model, '--dump-prompt-ids', join(dir, 'no', 'ids.json'), 'hi'],
    ['chat', '--model', model, '--do-sample', '--top-p', '2', 'hi'],
    ['chat', '--model', model, '--image', img, '--max-num', '1000', 'hi'],
    ['chat', '--model', model, '--image', '/dev/zero', 'hi'],
    ['chat', '--model', model, '--image', dir, 'hi'],
    ['chat', 'hi'],
  ]);
  assert.deepEqual(rs.map(oneErrorLine), [
    `--dump-prompt-ids ${join(dir, 'no', 'ids.json')}: folder ${join(dir, 'no')} does not exist`,
    'sampling: top-p must be in (0, 1], got 2',
    "--max-num must be an integer from 1 to 100, got '1000'",
    'cannot read image /dev/zero: not a regular file',
    `cannot read image ${dir}: is a directory`,
    '--model is required (usage: minivl chat --model DIR|ORG/NAME [--image FILE...] [options] "question")',
  ]);
});
