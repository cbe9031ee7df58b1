// Continuous batching through the server: four different requests (text and image, different lengths)
// sent at once are decoded together — the batch-size histogram shows it — and each answer equals the
// library's chat() for that request alone. Also: SIGTERM on `minivl serve` lets the running stream
// finish and exits 0.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import OpenAI from 'openai';
import { MiniVL } from '../../src/minivl.ts';
import { tinyCheckpoints } from '../generate/chat-helpers.ts';
import { BIN } from '../helpers/cli.ts';
import { ROOT } from '../helpers/paths.ts';
import { startServer, dataUrl, imageBytes, metric, type Running } from './helpers.ts';

let vl: MiniVL;
let dir = '';
let srv: Running;
let cleanup = async () => {};

before(async () => {
  const t = await tinyCheckpoints(['1b']);
  cleanup = t.cleanup;
  dir = t.dirs['1b'];
  vl = await MiniVL.load(dir);
  srv = await startServer(vl, { maxConcurrency: 4 });
});
after(async () => {
  await srv?.server.close(0);
  await vl?.release();
  await cleanup();
});

test('4 different requests at once are batched and each gets the tokens it gets alone', async () => {
  const cases = [
    { question: 'Tell me a story about a cat.', maxTokens: 24 },
    { question: 'Hi', maxTokens: 16 },
    { question: 'Describe the image in detail.', image: 'square_448.png', maxTokens: 20 },
    { question: 'List three colors, then explain why the sky is blue.', maxTokens: 28 },
  ];
  const alone = [];
  for (const c of cases) {
    alone.push(await vl.chat({ question: c.question, images: c.image ? [imageBytes(c.image)] : [], maxNum: 1, generation: { maxNewTokens: c.maxTokens } }));
  }
  const content = (c: (typeof cases)[number]) =>
    c.image ? [{ type: 'image_url' as const, image_url: { url: dataUrl(c.image), detail: 'low' as const } }, { type: 'text' as const, text: c.question }] : c.question;
  const together = await Promise.all(
    cases.map((c) => srv.client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: content(c) }], max_tokens: c.maxTokens, temperature: 0, logprobs: true })),
  );
  for (let i = 0; i < cases.length; i++) {
    assert.equal(together[i]!.choices[0]!.message.content, alone[i]!.text, `request ${i}`);
    assert.equal(together[i]!.usage!.completion_tokens, alone[i]!.tokenIds.length, `request ${i}`);
  }
  // Some decode calls carried more than 2 sequences (the mean batch size is above 2).
  const sum = await metric(srv.url, 'minivl_decode_batch_size_sum');
  const count = await metric(srv.url, 'minivl_decode_batch_size_count');
  assert.ok(sum / count > 2, `mean decode batch ${sum}/${count}`);
});

test('SIGTERM: the running stream finishes, new connections are refused, exit status 0', async () => {
  const child = spawn(process.execPath, [BIN, 'serve', '--model', dir, '--port', '0', '--model-name', 'tiny', '--grace-s', '30'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += String(d);
      const m = / at (http:\/\/\S+) /.exec(stderr);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0 });
  const stream = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Tell a story.' }], max_tokens: 40, temperature: 0, stream: true });
  let finish: string | null = null;
  let sent = false;
  let text = '';
  for await (const c of stream) {
    if (!sent) {
      child.kill('SIGTERM');
      sent = true;
    }
    text += c.choices[0]?.delta.content ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
  }
  const want = await vl.chat({ question: 'Tell a story.', generation: { maxNewTokens: 40 } });
  assert.equal(text, want.text, 'the stream ran to its end');
  assert.ok(finish === 'stop' || finish === 'length');
  assert.equal(await exited, 0);
  assert.match(stderr, /SIGTERM/);
  await assert.rejects(fetch(`${url}/health`));
});
