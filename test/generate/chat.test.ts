// The library chat API on tiny random checkpoints with each real tokenizer layout: exact prompt ids
// (reference chat() rendering + image tokens), streaming, multi-image, multi-turn, stop rules, KV-cache
// decoding against an uncached loop, cancellation and context checks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { MiniVL, GenerationAbortedError, generate, answerTexts, withImagePlaceholders, loadImage, parseGrounding } from '../../src/index.ts';
import { rejectsWith } from '../helpers/tmp.ts';
import { LAYOUTS, tinyCheckpoints, image, expectedPrompt, imageBlock, goldenTiles, contextRuns, type Layout } from './chat-helpers.ts';

const JPEG = 'photo_1024x768.jpg';
const PNG = 'tiny_100x50.png';
const vls = {} as Record<Layout, MiniVL>;
let cleanup = async () => {};

before(async () => {
  const t = await tinyCheckpoints();
  cleanup = t.cleanup;
  for (const k of LAYOUTS) vls[k] = await MiniVL.load(t.dirs[k]);
});
after(async () => {
  for (const k of LAYOUTS) await vls[k]?.release();
  await cleanup();
});

const ids = (vl: MiniVL, t: string) => vl.tokenizer.encode(t);
const tok = (vl: MiniVL, t: string) => vl.tokenizer.tokenToId(t)!;

for (const k of LAYOUTS) {
  test(`${k}: single JPEG — prompt ids are the template prompt with 256 x tiles <IMG_CONTEXT>, streamed text = answer`, async () => {
    const vl = vls[k];
    const tiles = goldenTiles(JPEG, 6);
    const q = 'Describe the image.';
    const s = vl.chatStream({ images: image(JPEG), question: q, maxNum: 6, generation: { maxNewTokens: 6 } });
    let streamed = '';
    let n = 0;
    for await (const c of s) {
      streamed += c.text;
      assert.equal(c.index, n++);
    }
    const r = await s.result;
    const want = ids(vl, expectedPrompt(k, `${imageBlock(tiles)}\n${q}`));
    assert.deepEqual(r.promptIds, want);
    assert.deepEqual(contextRuns(want, tok(vl, '<img>'), tok(vl, '</img>'), tok(vl, '<IMG_CONTEXT>')), [256 * tiles]);
    assert.equal(r.promptTokens, want.length);
    assert.deepEqual(r.images.map((i) => i.numTiles), [tiles]);
    assert.equal(r.tokenIds.length, n);
    assert.ok(r.tokenIds.length <= 6);
    assert.equal(streamed, r.text);
    assert.equal(r.question, `<image>\n${q}`);
    assert.deepEqual(r.history, [[`<image>\n${q}`, r.text]]);
  });

  test(`${k}: PNG + JPEG — Image-k prefixes, one image block per image`, async () => {
    const vl = vls[k];
    const t1 = goldenTiles(PNG, 6);
    const t2 = goldenTiles(JPEG, 6);
    const q = 'What differs?';
    const r = await vl.chat({ images: [image(PNG), image(JPEG)], question: q, maxNum: 6, generation: { maxNewTokens: 2 } });
    const want = ids(vl, expectedPrompt(k, `Image-1: ${imageBlock(t1)}\nImage-2: ${imageBlock(t2)}\n${q}`));
    assert.deepEqual(r.promptIds, want);
    assert.deepEqual(contextRuns(want, tok(vl, '<img>'), tok(vl, '</img>'), tok(vl, '<IMG_CONTEXT>')), [256 * t1, 256 * t2]);
    assert.deepEqual(r.images.map((i) => [i.width, i.height, i.numTiles]), [[100, 50, t1], [1024, 768, t2]]);
  });
}

test('streaming: concatenated chunks equal the final answer over long sampled outputs (multi-byte text)', async () => {
  for (const k of LAYOUTS) {
    const s = vls[k].chatStream({ question: 'Write a poem.', generation: { maxNewTokens: 60, doSample: true, seed: 11 } });
    let streamed = '';
    for await (const c of s) streamed += c.text;
    const r = await s.result;
    assert.equal(streamed, r.text, k);
    assert.equal(r.text, vls[k].tokenizer.decode(r.tokenIds, { skipSpecialTokens: true }).split(k === '4b' ? '<|end|>' : '<|im_end|>')[0]!.trim(), k);
  }
});

test('multi-turn: history pairs rendered before the new question, images re-expanded (reference semantics)', async () => {
  const vl = vls['2b'];
  const r1 = await vl.chat({ images: [image('square_448.png')], question: 'First?', maxNum: 2, generation: { maxNewTokens: 3 } });
  const r2 = await vl.chat({ images: [image('square_448.png')], question: 'Second?', history: r1.history, maxNum: 2, generation: { maxNewTokens: 3 } });
  const want = ids(vl, expectedPrompt('2b', 'Second?', [[`${imageBlock(1)}\nFirst?`, r1.text]]));
  assert.deepEqual(r2.promptIds, want);
  assert.equal(r2.question, 'Second?'); // no auto <image> on later turns
  assert.deepEqual(r2.history, [[`<image>\nFirst?`, r1.text], ['Second?', r2.text]]);
});

test('session: images added on a later turn get Image-k placeholders; vision embeddings are reused', async () => {
  const vl = vls['1b'];
  const s = vl.session({ maxNum: 1, generation: { maxNewTokens: 2 } });
  s.addImages(image('square_448.png'));
  const r1 = await s.ask('One?').result;
  let encodes = 0;
  const orig = vl.model.encodeImages.bind(vl.model);
  vl.model.encodeImages = async (pv, n) => {
    encodes += n;
    return orig(pv, n);
  };
  try {
    const r2 = await s.ask('Two?', { images: [image(JPEG)] }).result;
    assert.equal(encodes, 1); // only the new image
    const want = ids(vl, expectedPrompt('1b', `Image-2: ${imageBlock(1)}\nTwo?`, [[`${imageBlock(1)}\nOne?`, r1.text]]));
    assert.deepEqual(r2.promptIds, want);
    assert.equal(r2.history.length, 2);
  } finally {
    vl.model.encodeImages = orig;
  }
  s.reset();
  const r3 = await s.ask('Three?').result;
  assert.deepEqual(r3.promptIds, ids(vl, expectedPrompt('1b', 'Three?')));
});

test('withImagePlaceholders: <image> for a lone image, Image-k otherwise, explicit placeholders kept', () => {
  assert.equal(withImagePlaceholders('Q', 0, 1), '<image>\nQ');
  assert.equal(withImagePlaceholders('Q', 0, 2), 'Image-1: <image>\nImage-2: <image>\nQ');
  assert.equal(withImagePlaceholders('Q', 1, 2), 'Image-2: <image>\nImage-3: <image>\nQ');
  assert.equal(withImagePlaceholders('Q', 1, 0), 'Q');
  assert.equal(withImagePlaceholders('see <image>', 0, 1), 'see <image>');
});

test('text-only chat, custom system message, images as Buffer and as decoded pixels', async () => {
  const vl = vls['4b'];
  const r = await vl.chat({ question: 'Hi', systemMessage: 'Be brief.', generation: { maxNewTokens: 1 } });
  assert.deepEqual(r.promptIds, ids(vl, expectedPrompt('4b', 'Hi', [], 'Be brief.')));
  const fromPath = (await vl.prepare({ images: image(JPEG), question: 'x', maxNum: 2 })).promptIds;
  const fromBuffer = (await vl.prepare({ images: await readFile(image(JPEG)), question: 'x', maxNum: 2 })).promptIds;
  const fromPixels = (await vl.prepare({ images: await loadImage(image(JPEG)), question: 'x', maxNum: 2 })).promptIds;
  assert.deepEqual(fromBuffer, fromPath);
  assert.deepEqual(fromPixels, fromPath);
});

test('generate(): KV-cache greedy decoding equals an uncached full-sequence loop', async () => {
  for (const k of ['2b', '4b'] as const) {
    const vl = vls[k];
    const prompt = ids(vl, expectedPrompt(k, 'Count to ten.'));
    const embeds = await vl.model.embed(prompt);
    const gen = generate({ model: vl.model, tokenizer: vl.tokenizer, embeds, sepTokenId: tok(vl, '<IMG_CONTEXT>'), sepText: '<never>', options: { maxNewTokens: 6 } });
    const got: number[] = [];
    for await (const c of gen) got.push(c.tokenId);
    const seq = [...prompt];
    const want: number[] = [];
    for (let i = 0; i < 6; i++) {
      const { logits } = await vl.model.forward({ embeds: await vl.model.embed(seq) });
      let best = 0;
      for (let j = 1; j < logits.length; j++) if (logits[j]! > logits[best]!) best = j;
      want.push(best);
      seq.push(best);
    }
    assert.deepEqual(got, want, k);
  }
});

test('stop rules: separator id ends the answer; min new tokens masks it; max new tokens; stop strings', async () => {
  const vl = vls['2b'];
  const prompt = ids(vl, expectedPrompt('2b', 'Tell a story.'));
  const embeds = await vl.model.embed(prompt);
  const run = async (sepTokenId: number, options: object) => {
    const g = generate({ model: vl.model, tokenizer: vl.tokenizer, embeds, sepTokenId, sepText: '<|im_end|>', options });
    let text = '';
    for (;;) {
      const r = await g.next();
      if (r.done) return { ...r.value, text };
      text += r.value.text;
    }
  };
  const free = await run(tok(vl, '<|im_end|>'), { maxNewTokens: 12 });
  assert.equal(free.stopReason, 'length');
  assert.equal(free.tokenIds.length, 12);
  // Pretend the first greedy token is the separator: generation stops on it, with no text.
  const first = free.tokenIds[0]!;
  const eos = await run(first, { maxNewTokens: 12 });
  assert.deepEqual([eos.stopReason, eos.tokenIds, eos.text], ['eos', [first], '']);
  const min = await run(first, { maxNewTokens: 12, minNewTokens: 3 });
  assert.notEqual(min.tokenIds[0], first);
  assert.ok(min.tokenIds.slice(0, 3).every((id) => id !== first));
  // A stop string from the middle of the free answer: the answer is the text before it.
  const full = free.text;
  const mid = full.slice(Math.floor(full.length / 2), Math.floor(full.length / 2) + 3);
  assert.ok(mid.length === 3);
  const st = await run(tok(vl, '<|im_end|>'), { maxNewTokens: 12, stopStrings: [mid] });
  assert.equal(st.stopReason, 'stop_string');
  assert.equal(st.text, full.slice(0, full.indexOf(mid)).trim());
  const r = await vl.chat({ question: 'Tell a story.', generation: { maxNewTokens: 12, stopStrings: [mid] } });
  assert.equal(r.text, st.text);
});

test('sampling: same seed → same answer; temperature 0 → greedy', async () => {
  const vl = vls['1b'];
  const q = { question: 'Hello', generation: { maxNewTokens: 8, doSample: true, seed: 7 } };
  const a = await vl.chat(q);
  const b = await vl.chat(q);
  assert.deepEqual(a.tokenIds, b.tokenIds);
  const greedy = await vl.chat({ question: 'Hello', generation: { maxNewTokens: 8 } });
  const t0 = await vl.chat({ question: 'Hello', generation: { maxNewTokens: 8, doSample: true, temperature: 0, seed: 7 } });
  assert.deepEqual(t0.tokenIds, greedy.tokenIds);
});

test('AbortSignal stops generation before the next model call', async () => {
  const vl = vls['2b'];
  const ac = new AbortController();
  const s = vl.chatStream({ question: 'Go on.', generation: { maxNewTokens: 50 }, signal: ac.signal });
  let n = 0;
  await assert.rejects(
    (async () => {
      for await (const _ of s) if (++n === 2) ac.abort();
    })(),
    (e: unknown) => e instanceof GenerationAbortedError && e.tokenIds.length === 2,
  );
  await assert.rejects(s.result, GenerationAbortedError);
});

test('context overflow is a one-line error raised before any model call', async () => {
  const vl = vls['1b'];
  const calls: string[] = [];
  const m = vl.model;
  const saved = { enc: m.encodeImages, fwd: m.forward };
  m.encodeImages = async () => (calls.push('encode'), saved.enc.call(m, new Float32Array(0), 1));
  m.forward = async (a) => (calls.push('forward'), saved.fwd.call(m, a));
  try {
    await rejectsWith(
      vl.chat({ images: image(JPEG), question: 'x', maxNum: 6, generation: { maxNewTokens: 32768 } }),
      /context overflow/, /1\d{3} tokens/, /32768/, /max_position_embeddings/,
    );
    assert.deepEqual(calls, []);
  } finally {
    m.encodeImages = saved.enc;
    m.forward = saved.fwd;
  }
});

test('missing image and too many images are one-line errors', async () => {
  const vl = vls['1b'];
  await rejectsWith(vl.chat({ images: '/nonexistent/cat.jpg', question: 'x' }), /cannot read image \/nonexistent\/cat\.jpg: no such file/);
  await rejectsWith(
    vl.chat({ images: [image(PNG), image(PNG)], question: 'x', history: [['<image>\nq', 'a']], maxNum: 1 }),
    /placeholder/,
  );
});

test('answer post-processing: special tokens skipped, cut at the separator; raw text keeps grounding tags', () => {
  const vl = vls['1b'];
  const gen = ids(vl, ' <ref>the dog</ref><box>[[100, 200, 300, 400]]</box> <|im_end|>');
  const r = answerTexts(vl.tokenizer, gen, '<|im_end|>');
  assert.equal(r.text, 'the dog[[100, 200, 300, 400]]');
  assert.equal(r.rawText, '<ref>the dog</ref><box>[[100, 200, 300, 400]]</box>');
  const g = parseGrounding(r.rawText, 1000, 500);
  assert.deepEqual(g, [{ ref: 'the dog', normalized: [[100, 200, 300, 400]], boxes: [[100, 100, 300, 200]] }]);
});
