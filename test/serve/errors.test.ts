// Every documented error of the server returns its status and OpenAI's error shape; image URLs follow
// the policy (file: only under --allow-dir, no loopback URLs even with remote images allowed); a full
// queue answers 429 with Retry-After; a client that goes away (queued or mid-stream) frees its slot.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { realpathSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { MiniVL } from '../../src/minivl.ts';
import { tinyCheckpoints, image } from '../generate/chat-helpers.ts';
import { GOLDEN } from '../helpers/paths.ts';
import { startServer, dataUrl, metric, type Running } from './helpers.ts';

let vl: MiniVL;
let guarded: Running; // API key, small body limit, file: under the golden images, remote images allowed
let narrow: Running; // one slot, no queue
let queued: Running; // one slot, a queue
let cleanup = async () => {};
const KEY = 'sk-test-key';
const httpImages = createHttpServer((_req, res) => res.end('not an image'));

before(async () => {
  const t = await tinyCheckpoints(['1b']);
  cleanup = t.cleanup;
  vl = await MiniVL.load(t.dirs['1b']);
  guarded = await startServer(vl, { apiKey: KEY, bodyLimit: 1024 * 1024, images: { allowDir: realpathSync(`${GOLDEN}/images`), allowRemote: true } });
  narrow = await startServer(vl, { maxConcurrency: 1, maxQueue: 0 });
  queued = await startServer(vl, { maxConcurrency: 1, maxQueue: 4 });
  await new Promise<void>((ok) => httpImages.listen(0, '127.0.0.1', ok));
});
after(async () => {
  for (const s of [guarded, narrow, queued]) await s?.server.close(0);
  httpImages.close();
  await vl?.release();
  await cleanup();
});

/** The APIError the openai client throws for a request, with its status and error fields. */
async function apiError(client: OpenAI, body: Record<string, unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, ...body } as never);
  } catch (e) {
    if (e instanceof OpenAI.APIError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

function assertShape(body: unknown, status: number, got: number): { message: string; type: string; param: string | null; code: string | null } {
  assert.equal(got, status);
  const e = (body as { error: { message: string; type: string; param: string | null; code: string | null } }).error;
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0 && !e.message.includes('\n'));
  assert.equal(typeof e.type, 'string');
  assert.ok('param' in e && 'code' in e);
  return e;
}

const post = (r: Running, body: string, headers: Record<string, string> = {}) =>
  fetch(`${r.url}/v1/chat/completions`, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers } });

test('400 malformed JSON, 400 bad fields (with param), 404 unknown model and route, 413 oversized body, 401 bad key', async () => {
  let r = await post(guarded, '{"model": "tiny", "messages": [');
  assert.equal(assertShape(await r.json(), 400, r.status).code, 'invalid_json');

  const client = new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: KEY, maxRetries: 0 });
  let e = await apiError(client, { messages: [] });
  assert.equal(e.status, 400);
  assert.equal(e.param, 'messages');
  e = await apiError(client, { temperature: 7 });
  assert.deepEqual([e.status, e.param], [400, 'temperature']);
  e = await apiError(client, { n: 2 });
  assert.deepEqual([e.status, e.param], [400, 'n']);
  e = await apiError(client, { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] });
  assert.deepEqual([e.status, e.param], [400, 'messages[0].content[0].image_url.url']);
  e = await apiError(client, { model: 'gpt-4o' });
  assert.deepEqual([e.status, e.code, e.param], [404, 'model_not_found', 'model']);

  r = await fetch(`${guarded.url}/v2/nothing`);
  assertShape(await r.json(), 404, r.status);

  r = await post(guarded, JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'x'.repeat(2 * 1024 * 1024) }] }));
  assert.equal(assertShape(await r.json(), 413, r.status).code, 'request_too_large');

  for (const key of ['wrong', '']) {
    const bad = new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: key || 'x', maxRetries: 0, defaultHeaders: key ? {} : { authorization: null } });
    e = await apiError(bad, {});
    assert.deepEqual([e.status, e.code], [401, 'invalid_api_key']);
  }
  // /health and the page stay open without a key.
  assert.equal((await fetch(`${guarded.url}/health`)).status, 200);
});

test('400 undecodable image; file: outside --allow-dir and http://127.0.0.1 / localhost refused; file: inside allowed', async () => {
  const client = new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: KEY, maxRetries: 0 });
  const img = (url: string) => ({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }, { type: 'text', text: 'What?' }] }] });
  let e = await apiError(client, img(`data:image/png;base64,${Buffer.from('definitely not a png').toString('base64')}`));
  assert.deepEqual([e.status, e.code, e.param], [400, 'invalid_image', 'messages[0].content[0].image_url']);
  e = await apiError(client, img('data:image/png;base64,@@@'));
  assert.deepEqual([e.status, e.code], [400, 'invalid_image_url']);

  e = await apiError(client, img('file:///etc/passwd'));
  assert.deepEqual([e.status, e.code], [400, 'image_url_forbidden']);
  e = await apiError(client, img(`file://${GOLDEN}/images/../meta.json`));
  assert.equal(e.status, 400);
  const ok = await client.chat.completions.create({ ...img(`file://${image('tiny_100x50.png')}`), model: 'tiny', max_tokens: 2 } as never);
  assert.equal((ok as { object: string }).object, 'chat.completion');

  const port = (httpImages.address() as AddressInfo).port;
  for (const host of ['127.0.0.1', 'localhost', '[::1]', '169.254.169.254']) {
    e = await apiError(client, img(`http://${host}:${port}/cat.png`));
    assert.deepEqual([e.status, e.code], [400, 'image_url_forbidden'], host);
  }
  // Without --allow-remote-images (and without --allow-dir) both are refused outright.
  const plain = new OpenAI({ baseURL: `${narrow.url}/v1`, apiKey: 'x', maxRetries: 0 });
  for (const url of ['https://example.com/cat.png', `file://${image('tiny_100x50.png')}`]) {
    e = await apiError(plain, img(url));
    assert.deepEqual([e.status, e.code], [400, 'image_url_forbidden'], url);
  }
});

test('400 context overflow before any model work', async () => {
  const client = new OpenAI({ baseURL: `${narrow.url}/v1`, apiKey: 'x', maxRetries: 0 });
  const before = await metric(narrow.url, 'minivl_prefill_tokens_total');
  const e = await apiError(client, { max_tokens: 40_000, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: dataUrl('photo_1024x768.jpg') } }, { type: 'text', text: 'Describe.' }] }] });
  assert.deepEqual([e.status, e.code, e.param], [400, 'context_length_exceeded', 'messages']);
  assert.match(e.message, /maximum context length is 32768 tokens/);
  assert.equal(await metric(narrow.url, 'minivl_prefill_tokens_total'), before);
  assert.equal(await metric(narrow.url, 'minivl_vision_cache_misses_total'), 0, 'nothing was encoded');
});

test('429 with Retry-After when the queue is full; aborting mid-stream frees the slot (metrics), the next request runs', async () => {
  const client = new OpenAI({ baseURL: `${narrow.url}/v1`, apiKey: 'x', maxRetries: 0 });
  const stream = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Tell a long story.' }], max_tokens: 4000, stream: true });
  const it = stream[Symbol.asyncIterator]();
  await it.next();
  await it.next();
  assert.equal(await metric(narrow.url, 'minivl_active_sequences'), 1);

  const r = await fetch(`${narrow.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }) });
  const body = assertShape(await r.json(), 429, r.status);
  assert.equal(body.code, 'queue_full');
  assert.ok(Number(r.headers.get('retry-after')) >= 1);

  stream.controller.abort();
  for (let i = 0; i < 200 && (await metric(narrow.url, 'minivl_active_sequences')) !== 0; i++) await new Promise((ok) => setTimeout(ok, 25));
  assert.equal(await metric(narrow.url, 'minivl_active_sequences'), 0);
  assert.equal(await metric(narrow.url, 'minivl_cancelled_total{stage="decode"}'), 1);
  const next = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 });
  assert.equal(next.object, 'chat.completion');
  // The KV gauge: float32 keys + values of every layer for the one slot, at the cache's capacity.
  const kv = narrow.server.scheduler.kv;
  const { numLayers, numKvHeads, headDim } = vl.model.config.llm;
  assert.equal(vl.model.kvDtype, 'float32');
  assert.equal(await metric(narrow.url, 'minivl_kv_cache_bytes'), 2 * numLayers * 1 * numKvHeads * kv.capacity * headDim * 4);
});

test('a queued request whose client goes away is dropped from the queue', async () => {
  const client = new OpenAI({ baseURL: `${queued.url}/v1`, apiKey: 'x', maxRetries: 0 });
  const stream = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Tell a long story.' }], max_tokens: 4000, stream: true });
  const it = stream[Symbol.asyncIterator]();
  await it.next();
  const ac = new AbortController();
  const waiting = client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }, { signal: ac.signal });
  for (let i = 0; i < 200 && (await metric(queued.url, 'minivl_queue_depth')) !== 1; i++) await new Promise((ok) => setTimeout(ok, 10));
  assert.equal(await metric(queued.url, 'minivl_queue_depth'), 1);
  ac.abort();
  await assert.rejects(waiting);
  for (let i = 0; i < 200 && (await metric(queued.url, 'minivl_queue_depth')) !== 0; i++) await new Promise((ok) => setTimeout(ok, 10));
  assert.equal(await metric(queued.url, 'minivl_cancelled_total{stage="queued"}'), 1);
  stream.controller.abort();
});

test('a client that goes away while its images are encoded or its prompt prefilled is stopped there (no token generated)', async () => {
  const stage = async (s: string) => metric(narrow.url, `minivl_cancelled_total{stage="${s}"}`);
  const before = { vision: await stage('vision'), prefill: await stage('prefill'), decode: await stage('decode') };
  const completions = await metric(narrow.url, 'minivl_completion_tokens_total');
  const ac = new AbortController();
  // Two 12-tile images (26 vision calls, ~6.7k prompt tokens in 512-token chunks): a long start-up.
  const big = { type: 'image_url', image_url: { url: dataUrl('photo_1024x768.jpg'), max_num: 12 } };
  const req = fetch(`${narrow.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
    body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: [big, big, { type: 'text', text: 'Compare.' }] }], max_tokens: 5 }),
  });
  for (let i = 0; i < 2000 && (await metric(narrow.url, 'minivl_active_sequences')) !== 1; i++) await new Promise((ok) => setTimeout(ok, 2));
  ac.abort();
  await assert.rejects(req);
  for (let i = 0; i < 200 && (await metric(narrow.url, 'minivl_active_sequences')) !== 0; i++) await new Promise((ok) => setTimeout(ok, 10));
  assert.equal(await metric(narrow.url, 'minivl_active_sequences'), 0);
  const stopped = (await stage('vision')) - before.vision + (await stage('prefill')) - before.prefill;
  assert.equal(stopped, 1, 'cancelled in the vision or prefill stage');
  assert.equal(await stage('decode'), before.decode);
  assert.equal(await metric(narrow.url, 'minivl_completion_tokens_total'), completions, 'no token was generated');
});
