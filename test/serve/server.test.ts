// The OpenAI-compatible server on tiny random checkpoints of all three families, called with the openai
// npm package: greedy answers equal the library's chat() for the same inputs (JSON and SSE, data-URL
// images, multi-turn with the images repeated, logprobs), and the caches make turn two cheap.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MiniVL } from '../../src/minivl.ts';
import { LAYOUTS, tinyCheckpoints, type Layout } from '../generate/chat-helpers.ts';
import { startServer, dataUrl, imageBytes, metric, type Running } from './helpers.ts';

const JPEG = 'photo_1024x768.jpg';
const PNG = 'tiny_100x50.png';
const vls = {} as Record<Layout, MiniVL>;
const servers = {} as Record<Layout, Running>;
let cleanup = async () => {};

before(async () => {
  const t = await tinyCheckpoints();
  cleanup = t.cleanup;
  for (const k of LAYOUTS) {
    vls[k] = await MiniVL.load(t.dirs[k]);
    servers[k] = await startServer(vls[k]);
  }
});
after(async () => {
  for (const k of LAYOUTS) {
    await servers[k]?.server.close(0);
    await vls[k]?.release();
  }
  await cleanup();
});

const userImage = (name: string, text: string, maxNum = 2) => ({
  role: 'user' as const,
  content: [
    { type: 'image_url' as const, image_url: { url: dataUrl(name), max_num: maxNum } as { url: string } },
    { type: 'text' as const, text },
  ],
});

for (const k of LAYOUTS) {
  test(`${k}: non-streaming greedy answer with a data: image equals chat(); usage counts tiles and tokens`, async () => {
    const { client } = servers[k];
    const r = await client.chat.completions.create({ model: 'tiny', messages: [userImage(JPEG, 'Describe the image.')], max_tokens: 10, temperature: 0 });
    const want = await vls[k].chat({ images: [imageBytes(JPEG)], question: 'Describe the image.', maxNum: 2, generation: { maxNewTokens: 10 } });
    assert.equal(r.choices[0]!.message.content, want.text);
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0]!.finish_reason, want.stopReason === 'length' ? 'length' : 'stop');
    assert.equal(r.usage!.prompt_tokens, want.promptTokens);
    assert.equal(r.usage!.completion_tokens, want.tokenIds.length);
    const tiles = want.images[0]!.numTiles;
    assert.deepEqual((r.usage as unknown as { images: unknown }).images, { count: 1, tiles, tokens: 256 * tiles, vision_cache_hits: 0 });
  });

  test(`${k}: streaming (SSE chunks, include_usage) concatenates to chat()'s answer`, async () => {
    const { client } = servers[k];
    const stream = await client.chat.completions.create({
      model: 'tiny', messages: [{ role: 'user', content: 'Write a poem.' }], max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: { completion_tokens: number } | null = null;
    let first = true;
    for await (const c of stream) {
      assert.equal(c.object, 'chat.completion.chunk');
      if (first) assert.equal(c.choices[0]!.delta.role, 'assistant');
      first = false;
      if (c.usage) usage = c.usage;
      if (c.choices.length === 0) continue;
      text += c.choices[0]!.delta.content ?? '';
      finish = c.choices[0]!.finish_reason ?? finish;
    }
    const want = await vls[k].chat({ question: 'Write a poem.', generation: { maxNewTokens: 12 } });
    assert.equal(text, want.text);
    assert.equal(finish, want.stopReason === 'length' ? 'length' : 'stop');
    assert.equal(usage!.completion_tokens, want.tokenIds.length);
  });
}

test('multi-turn with the image repeated equals the reference multi-turn chat(); turn two reuses the vision and KV caches', async () => {
  for (const k of LAYOUTS) {
    const { client, url } = servers[k];
    const vl = vls[k];
    const q1 = 'What is in the picture?';
    const r1 = await client.chat.completions.create({ model: 'tiny', messages: [userImage(PNG, q1)], max_tokens: 6, temperature: 0 });
    const a1 = r1.choices[0]!.message.content!;
    const w1 = await vl.chat({ images: [imageBytes(PNG)], question: q1, maxNum: 2, generation: { maxNewTokens: 6 } });
    assert.equal(a1, w1.text, k);
    const hitsBefore = await metric(url, 'minivl_vision_cache_hits_total');
    const reusedBefore = await metric(url, 'minivl_prefix_cache_reused_tokens_total');
    const r2 = await client.chat.completions.create({
      model: 'tiny', max_tokens: 6, temperature: 0,
      messages: [userImage(PNG, q1), { role: 'assistant', content: a1 }, { role: 'user', content: 'And the colors?' }],
    });
    const w2 = await vl.chat({ images: [imageBytes(PNG)], question: 'And the colors?', history: w1.history, maxNum: 2, generation: { maxNewTokens: 6 } });
    assert.equal(r2.choices[0]!.message.content, w2.text, k);
    assert.equal(r2.usage!.prompt_tokens, w2.promptTokens, k);
    // The image block lies in the reused prefix: nothing re-encoded, most of the prompt not re-run.
    const cached = r2.usage!.prompt_tokens_details!.cached_tokens!;
    assert.ok(cached >= w1.promptTokens, `${k}: ${cached} reused tokens, turn one's prompt had ${w1.promptTokens}`);
    assert.equal(await metric(url, 'minivl_prefix_cache_reused_tokens_total'), reusedBefore + cached);
    assert.equal(await metric(url, 'minivl_vision_cache_hits_total'), hitsBefore, 'the image was in the reused prefix: not even looked up');
  }
});

test('an image sent again in a new conversation comes from the vision cache (same answer as chat())', async () => {
  const { client, url } = servers['1b'];
  const hits = await metric(url, 'minivl_vision_cache_hits_total');
  // Another system message: no KV prefix in common with the earlier requests, so the image is needed.
  const system = 'You are terse.';
  const r = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'system', content: system }, userImage(JPEG, 'Count the objects.')], max_tokens: 5, temperature: 0 });
  const want = await vls['1b'].chat({ images: [imageBytes(JPEG)], question: 'Count the objects.', systemMessage: system, maxNum: 2, generation: { maxNewTokens: 5 } });
  assert.equal(r.choices[0]!.message.content, want.text);
  assert.equal(await metric(url, 'minivl_vision_cache_hits_total'), hits + 1);
  assert.equal((r.usage as unknown as { images: { vision_cache_hits: number } }).images.vision_cache_hits, 1);
});

test('logprobs: one entry per answer token, greedy picks the top-1, top_logprobs sorted, probabilities ≤ 1', async () => {
  const { client } = servers['2b'];
  const r = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 3 });
  const want = await vls['2b'].chat({ question: 'Hello', generation: { maxNewTokens: 6 } });
  const content = r.choices[0]!.logprobs!.content!;
  const sep = vls['2b'].tokenizer.tokenToId('<|im_end|>');
  assert.equal(content.length, want.tokenIds.filter((id) => id !== sep).length);
  for (const e of content) {
    assert.equal(e.top_logprobs.length, 3);
    assert.equal(e.logprob, e.top_logprobs[0]!.logprob);
    assert.ok(e.top_logprobs[0]!.logprob >= e.top_logprobs[1]!.logprob && e.top_logprobs[1]!.logprob >= e.top_logprobs[2]!.logprob);
    assert.ok(e.logprob <= 0);
    assert.deepEqual(e.bytes, [...Buffer.from(e.token)]);
  }
});
