// `minivl chat` as a user runs it: the real CLI spawned on tiny random checkpoints (1b and 4b tokenizer
// layouts), exact prompt ids, multi-image, interactive mode, and the error/interrupt contract.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../helpers/cli.ts';
import { ROOT } from '../helpers/paths.ts';
import { loadTokenizer, type Tokenizer } from '../../src/index.ts';
import { tinyCheckpoints, image, expectedPrompt, imageBlock, goldenTiles, type Layout } from '../generate/chat-helpers.ts';

let dirs: Record<Layout, string>;
let root: string;
let cache: string;
const toks = {} as Record<Layout, Tokenizer>;

let cleanup = async () => {};

before(async () => {
  ({ dirs, root, cleanup } = await tinyCheckpoints(['1b', '2b', '4b']));
  cache = await mkdtemp(join(tmpdir(), 'minivl-chat-cache-'));
  for (const k of ['1b', '2b', '4b'] as const) toks[k] = await loadTokenizer(dirs[k]);
});

after(async () => {
  await cleanup();
  if (cache) await rm(cache, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawns `minivl chat ...`; `onStdout` may act on the live process (e.g. send SIGINT). */
function chat(args: string[], opts: { input?: string; onStdout?: (child: ReturnType<typeof spawn>, text: string) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'chat', ...args], {
      cwd: ROOT,
      env: { ...process.env, MINIVL_CACHE: cache, MINIVL_OFFLINE: '1', MINIVL_DEBUG: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      opts.onStdout?.(child, stdout);
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

const errorLine = (r: Run) => r.stderr.trim().split('\n').filter((l) => l.startsWith('minivl: error:'));

test('1b: PNG + JPEG, prompt ids fed to the model = tokenizer ids of the template prompt with 256 x tiles per image', async () => {
  const out = join(root, 'ids-1b.json');
  const r = await chat(['--model', dirs['1b'], '--image', image('tiny_100x50.png'), '--image', image('photo_1024x768.jpg'),
    '--max-num', '6', '--max-new-tokens', '4', '--do-sample', '--seed', '1', '--dump-prompt-ids', out, 'Compare the two images.']);
  assert.equal(r.code, 0, r.stderr);
  const want = toks['1b'].encode(expectedPrompt('1b',
    `Image-1: ${imageBlock(goldenTiles('tiny_100x50.png', 6))}\nImage-2: ${imageBlock(goldenTiles('photo_1024x768.jpg', 6))}\nCompare the two images.`));
  assert.deepEqual(JSON.parse(await readFile(out, 'utf8')), want);
  assert.ok(r.stdout.endsWith('\n'));
  // Plain progress lines on a non-terminal stderr.
  assert.match(r.stderr, /^minivl: loading model .*\nminivl: model loaded in [\d.]+ s\n/);
  assert.match(r.stderr, /encoding 10 image tile\(s\)/);
});

test('1b: DESIGN form `--image FILE FILE "question"` takes both files as images', async () => {
  const out = join(root, 'ids-1b-list.json');
  const r = await chat(['--model', dirs['1b'], '--max-num', '6', '--max-new-tokens', '2', '--dump-prompt-ids', out,
    '--image', image('tiny_100x50.png'), image('photo_1024x768.jpg'), 'Compare the two images.']);
  assert.equal(r.code, 0, r.stderr);
  const want = toks['1b'].encode(expectedPrompt('1b',
    `Image-1: ${imageBlock(goldenTiles('tiny_100x50.png', 6))}\nImage-2: ${imageBlock(goldenTiles('photo_1024x768.jpg', 6))}\nCompare the two images.`));
  assert.deepEqual(JSON.parse(await readFile(out, 'utf8')), want);
});

test('4b: single PNG with --system', async () => {
  const out = join(root, 'ids-4b.json');
  const r = await chat(['--model', dirs['4b'], '--image', image('wide_1920x1080.png'), '--max-num', '6', '--max-new-tokens', '3',
    '--system', 'You are terse.', '--dump-prompt-ids', out, 'What is shown?']);
  assert.equal(r.code, 0, r.stderr);
  const want = toks['4b'].encode(expectedPrompt('4b', `${imageBlock(goldenTiles('wide_1920x1080.png', 6))}\nWhat is shown?`, [], 'You are terse.'));
  assert.deepEqual(JSON.parse(await readFile(out, 'utf8')), want);
});

test('--interactive: questions with history, /image adds an image, /exit ends the session', async () => {
  const out = join(root, 'ids-int.json');
  const input = ['First?', `/image ${image('tiny_100x50.png')}`, 'Second?', '/exit', 'never asked'].join('\n');
  const r = await chat(['--model', dirs['2b'], '--image', image('square_448.png'), '--max-num', '1', '--max-new-tokens', '3',
    '--dump-prompt-ids', out, '--interactive'], { input });
  assert.equal(r.code, 0, r.stderr);
  const answers = r.stdout.split('\n');
  assert.equal(answers.length, 3); // two one-line answers (this seed's answers have no newline)
  // Second turn: the first question (with its image) and answer in history, the new image as Image-2.
  const want = toks['2b'].encode(expectedPrompt('2b', `Image-2: ${imageBlock(1)}\nSecond?`, [[`${imageBlock(1)}\nFirst?`, answers[0]!]]));
  assert.deepEqual(JSON.parse(await readFile(out, 'utf8')), want);
});

test('errors: missing image, unknown model offline, context overflow — one line, exit 1', async () => {
  const missing = await chat(['--model', dirs['1b'], '--image', '/nonexistent/cat.png', 'Hi']);
  assert.equal(missing.code, 1);
  assert.deepEqual(errorLine(missing), ['minivl: error: cannot read image /nonexistent/cat.png: no such file']);
  assert.doesNotMatch(missing.stderr, /loading model/); // checked before the model loads

  const unknown = await chat(['--model', 'NoSuchOrg/NoSuchModel', 'Hi']);
  assert.equal(unknown.code, 1);
  assert.equal(errorLine(unknown).length, 1);
  assert.match(unknown.stderr, /NoSuchOrg\/NoSuchModel.*not in the cache.*offline/);

  const overflow = await chat(['--model', dirs['1b'], '--image', image('photo_1024x768.jpg'), '--max-num', '6', '--max-new-tokens', '32000', 'Hi']);
  assert.equal(overflow.code, 1);
  assert.equal(errorLine(overflow).length, 1);
  assert.match(overflow.stderr, /context overflow: the prompt has \d+ tokens and max new tokens is 32000, together \d+ > the model's context of 32768/);
  assert.doesNotMatch(overflow.stderr, /encoding/); // before the vision model runs
  assert.equal(overflow.stdout, '');
});

test('Ctrl-C mid-generation: stops cleanly, exit 130, nothing left behind', async () => {
  const before = (await readdir(dirs['2b'])).sort();
  let sent = false;
  const r = await chat(['--model', dirs['2b'], '--max-new-tokens', '20000', 'Tell me a very long story.'], {
    onStdout: (child, text) => {
      if (!sent && text.length > 0) {
        sent = true;
        child.kill('SIGINT');
      }
    },
  });
  assert.ok(sent, 'the answer never started streaming');
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /minivl: interrupted; generation stopped after \d+ token\(s\)\n$/);
  assert.doesNotMatch(r.stderr, /error/);
  assert.deepEqual((await readdir(dirs['2b'])).sort(), before);
  assert.deepEqual(await readdir(cache, { recursive: true }), []);
});
