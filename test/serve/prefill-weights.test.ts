// The server over an int4 model with int8 prefill weights: concurrent requests (prefilled on the int8 copy,
// decoded together in batches on the int4 weights) each answer as the library's chat() does alone; the CLI
// refuses a bad --prefill-weights (or any bad flag) in one line, before loading the model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { MiniVL } from '../../src/minivl.ts';
import { tinyCheckpoints } from '../generate/chat-helpers.ts';
import { BIN } from '../helpers/cli.ts';
import { ROOT } from '../helpers/paths.ts';
import { tempDir } from '../helpers/tmp.ts';
import { metric, startServer, type Running } from './helpers.ts';

let vl: MiniVL;
let dir = '';
let srv: Running;
let cleanup = async () => {};

before(async () => {
  process.env.MINIVL_CACHE = join(await tempDir('minivl-serve-prefill-'), 'cache');
  const t = await tinyCheckpoints(['1b']);
  cleanup = t.cleanup;
  dir = t.dirs['1b'];
  vl = await MiniVL.load(dir, { dtype: 'int4', prefillWeights: 'int8' });
  srv = await startServer(vl, { maxConcurrency: 4 });
});
after(async () => {
  await srv?.server.close(0);
  await vl?.release();
  await cleanup();
});

test('serve, int4 + int8 prefill weights: 3 concurrent requests, each = chat() alone, decoded in batches', async () => {
  assert.equal(vl.model.prefillWeights, 'int8');
  const questions = ['Tell a story.', 'What is two plus two? Explain.', 'Name a color.'];
  const answers = await Promise.all(questions.map((q) => srv.client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: q }], max_tokens: 12, temperature: 0 })));
  for (const [i, q] of questions.entries()) {
    const want = await vl.chat({ question: q, generation: { maxNewTokens: 12 } });
    assert.equal(answers[i]!.choices[0]!.message.content, want.text, q);
  }
  const sum = await metric(srv.url, 'minivl_decode_batch_size_sum');
  const count = await metric(srv.url, 'minivl_decode_batch_size_count');
  assert.ok(count > 0 && sum / count > 1, `mean decode batch ${sum}/${count}`);
});

test('serve CLI: a bad flag is one error line, exit 1, before the model loads', () => {
  for (const [args, line] of [
    [['--model', dir, '--prefill-weights', 'int4'], "minivl: error: --prefill-weights must be int8, got 'int4'"],
    // A missing model folder is not reached: the flags are checked first.
    [['--model', join(dir, 'missing'), '--max-concurrency', '0'], "minivl: error: --max-concurrency must be an integer from 1 to 256, got '0'"],
    [['--model', join(dir, 'missing'), '--prefill-chunk', 'x'], "minivl: error: --prefill-chunk must be an integer"],
  ] as const) {
    const r = spawnSync(process.execPath, [BIN, 'serve', ...args], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr.split('\n').length, 2, r.stderr);
    assert.ok(r.stderr.startsWith(line), r.stderr);
  }
});
