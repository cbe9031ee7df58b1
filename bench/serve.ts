// Server figures (never run by `npm test`), each part measured in this one process against the real
// HTTP server on 127.0.0.1:
//   1. on a full-size checkpoint: aggregate decode tokens/s with 1, 4 and 8 concurrent streams (goal: 8 ≥ 5× one),
//      beside the library's own batch-1 decode (MiniVL.chat) as the same-run reference; p50/p99 time to first
//      token under load (16 requests, 8 at a time); second-turn latency of a 12-tile image conversation on a
//      server with the vision + KV-prefix caches and on one without;
//   2. a soak on a tiny checkpoint: 16 streaming clients for --soak-s seconds against 8 slots and a queue
//      of 4, counting completed, 429 (then retried) and failed or lost requests (goal: zero).
//   flock /tmp/minivl-heavy.lock node --import tsx bench/serve.ts --dir /work/ckpt/internvl2-1b [--tokens 64] [--soak-s 60] [--skip-full] [--skip-decode] [--skip-soak]
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeRandomCheckpoint } from '../src/dev/random-checkpoint.ts';
import { MiniVL } from '../src/minivl.ts';
import { createServer, type ServeOptions } from '../src/serve/server.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/work/ckpt/internvl2-1b' },
    tokens: { type: 'string', default: '64' },
    'soak-s': { type: 'string', default: '60' },
    'skip-full': { type: 'boolean', default: false },
    'skip-soak': { type: 'boolean', default: false },
    /** Skip the decode-rate and TTFT parts (only the 12-tile chat of the full-size part). */
    'skip-decode': { type: 'boolean', default: false },
  },
});
const TOKENS = Number(values.tokens);
const SOAK_S = Number(values['soak-s']);
const golden = (name: string) => new URL(`../../shared/golden/images/${name}`, import.meta.url).pathname;
const dataUrl = (name: string) => `data:image/${name.endsWith('.png') ? 'png' : 'jpeg'};base64,${readFileSync(golden(name)).toString('base64')}`;
const ortVersion = (await import('onnxruntime-node/package.json', { with: { type: 'json' } }).catch(() => null))?.default?.version ?? '?';
console.log(`machine: ${cpus()[0]?.model} × ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB | node ${process.version} | onnxruntime-node ${ortVersion} | fp32, CPU EP`);

interface StreamStats {
  ttftMs: number;
  /** performance.now() of every content token event (one per generated token with text). */
  tokenTimes: number[];
  completionTokens: number;
  text: string;
  finish: string | null;
  cached: number;
  tiles: number;
}

/** One streaming request; resolves with its timings, rejects on HTTP errors (the error carries the status). */
async function stream(url: string, body: Record<string, unknown>): Promise<StreamStats> {
  const t0 = performance.now();
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'bench', stream: true, stream_options: { include_usage: true }, temperature: 0, ...body }),
  });
  if (!r.ok) throw Object.assign(new Error(`HTTP ${r.status}: ${await r.text()}`), { status: r.status, retryAfter: Number(r.headers.get('retry-after') ?? 1) });
  const s: StreamStats = { ttftMs: 0, tokenTimes: [], completionTokens: 0, text: '', finish: null, cached: 0, tiles: 0 };
  let buf = '';
  let done = false;
  for await (const part of r.body!.pipeThrough(new TextDecoderStream())) {
    buf += part;
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const line = buf.slice(0, end);
      buf = buf.slice(end + 2);
      if (!line.startsWith('data: ')) continue;
      if (line === 'data: [DONE]') {
        done = true;
        continue;
      }
      const c = JSON.parse(line.slice(6));
      if (c.error) throw new Error(c.error.message);
      const ch = c.choices?.[0];
      if (ch?.delta?.content) {
        const now = performance.now();
        if (s.tokenTimes.length === 0) s.ttftMs = now - t0;
        s.tokenTimes.push(now);
        s.text += ch.delta.content;
      }
      if (ch?.finish_reason) s.finish = ch.finish_reason;
      if (c.usage) {
        s.completionTokens = c.usage.completion_tokens;
        s.cached = c.usage.prompt_tokens_details?.cached_tokens ?? 0;
        s.tiles = c.usage.images?.tiles ?? 0;
      }
    }
  }
  if (!done || !s.finish) throw new Error('stream ended without finish_reason / [DONE]');
  return s;
}

const pct = (xs: number[], p: number) => {
  const a = [...xs].sort((x, y) => x - y);
  return a[Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1))]!;
};
const f1 = (x: number) => x.toFixed(1);

async function withServer<T>(vl: MiniVL, opts: Partial<ServeOptions>, fn: (url: string) => Promise<T>): Promise<T> {
  const server = createServer(vl, { modelName: 'bench', ...opts });
  const url = await server.listen('127.0.0.1', 0);
  try {
    return await fn(url);
  } finally {
    await server.close(0);
  }
}

/** Aggregate decode tokens/s of N simultaneous streams: tokens of all streams inside the window where all N decode. */
async function decodeRate(url: string, n: number): Promise<{ tokS: number; perStream: number }> {
  const runs = await Promise.all(
    Array.from({ length: n }, (_, i) => stream(url, { messages: [{ role: 'user', content: `Story ${i}: tell me about the number ${i * 7 + 3}.` }], max_tokens: TOKENS, min_tokens: TOKENS })),
  );
  const start = Math.max(...runs.map((r) => r.tokenTimes[0]!));
  const end = Math.min(...runs.map((r) => r.tokenTimes.at(-1)!));
  let count = 0;
  for (const r of runs) for (const t of r.tokenTimes) if (t > start && t <= end) count++;
  const tokS = (count / (end - start)) * 1000;
  return { tokS, perStream: tokS / n };
}

const out: Record<string, unknown> = { tokens_per_stream: TOKENS };

if (!values['skip-full']) {
  const t = performance.now();
  const vl = await MiniVL.load(values.dir!);
  console.log(`model: ${values.dir} loaded in ${f1((performance.now() - t) / 1000)} s (${vl.config.llm.numLayers} layers, hidden ${vl.config.llm.hiddenSize})`);
  // Same-run reference: the library's batch-1 decode loop.
  await vl.chat({ question: 'warm up', generation: { maxNewTokens: 4, minNewTokens: 4 } });
  const lib = await vl.chat({ question: 'Story: tell me about the number 3.', generation: { maxNewTokens: TOKENS, minNewTokens: TOKENS } });
  const libTokS = ((lib.tokenIds.length - 1) / lib.timings.decodeMs) * 1000;
  console.log(`reference: library chat() batch-1 decode ${f1(libTokS)} tok/s`);
  out.library_decode_tok_s = libTokS;

  if (!values['skip-decode']) await withServer(vl, { maxConcurrency: 8, maxQueue: 64 }, async (url) => {
    await stream(url, { messages: [{ role: 'user', content: 'warm up' }], max_tokens: 4 });
    const rates: Record<number, number> = {};
    for (const n of [1, 4, 8]) {
      const r = await decodeRate(url, n);
      rates[n] = r.tokS;
      console.log(`decode: ${n} concurrent stream(s): ${f1(r.tokS)} tok/s aggregate (${f1(r.perStream)} per stream)`);
    }
    console.log(`decode: 8 streams = ${(rates[8]! / rates[1]!).toFixed(2)}× one stream (goal ≥ 5×); 1 stream = ${(rates[1]! / libTokS).toFixed(2)}× the library's batch-1 loop`);
    out.decode_tok_s = rates;
    out.speedup_8_vs_1 = rates[8]! / rates[1]!;

    // TTFT under load: 16 requests with a 448×448 image, 8 at a time.
    const ttfts: number[] = [];
    const queue = Array.from({ length: 16 }, (_, i) => i);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          const content = [{ type: 'image_url', image_url: { url: dataUrl('square_448.png'), detail: 'low' } }, { type: 'text', text: `Question ${i}: what is shown?` }];
          ttfts.push((await stream(url, { messages: [{ role: 'user', content }], max_tokens: 8, min_tokens: 8 })).ttftMs);
        }
      }),
    );
    console.log(`ttft: 16 requests (1 tile each, 8 concurrent): p50 ${f1(pct(ttfts, 50))} ms, p99 ${f1(pct(ttfts, 99))} ms`);
    out.ttft_ms = { p50: pct(ttfts, 50), p99: pct(ttfts, 99) };
  });

  // Second turn of a 12-tile image conversation (4:3 → a 4×3 grid + the thumbnail), with and without the caches.
  const img = { type: 'image_url', image_url: { url: dataUrl('photo_1024x768.jpg'), max_num: 12 } };
  const turn1 = [{ role: 'user', content: [img, { type: 'text', text: 'Describe the image.' }] }];
  const secondTurn = async (opts: Partial<ServeOptions>) =>
    withServer(vl, opts, async (url) => {
      const t1 = performance.now();
      const first = await stream(url, { messages: turn1, max_tokens: 16, min_tokens: 16 });
      if (first.tiles !== 13) throw new Error(`expected 12 tiles + thumbnail, got ${first.tiles}`);
      const turn1Ms = performance.now() - t1;
      const a1 = first.text;
      const t2 = performance.now();
      const second = await stream(url, { messages: [...turn1, { role: 'assistant', content: a1 }, { role: 'user', content: 'What colors dominate?' }], max_tokens: 16, min_tokens: 16 });
      return { turn1Ms, first, turn2Ms: performance.now() - t2, second };
    });
  const cached = await secondTurn({});
  console.log(`12-tile chat, caches on: turn 1 ${f1(cached.turn1Ms / 1000)} s; turn 2 ${f1(cached.turn2Ms / 1000)} s total, ttft ${f1(cached.second.ttftMs)} ms (${cached.second.cached} prompt tokens reused)`);
  const plain = await secondTurn({ visionCacheBytes: 0, prefixCacheBytes: 0 });
  console.log(`12-tile chat, caches off: turn 1 ${f1(plain.turn1Ms / 1000)} s; turn 2 ${f1(plain.turn2Ms / 1000)} s total, ttft ${f1(plain.second.ttftMs)} ms`);
  console.log(`12-tile chat: turn 2 is ${(plain.turn2Ms / cached.turn2Ms).toFixed(1)}× faster with the caches`);
  out.second_turn_ms = { cached: cached.turn2Ms, uncached: plain.turn2Ms, cached_ttft: cached.second.ttftMs, uncached_ttft: plain.second.ttftMs, reused_tokens: cached.second.cached };
  out.peak_rss_gib = process.resourceUsage().maxRSS / 2 ** 20;
  await vl.release();
}

if (!values['skip-soak']) {
  const tmp = await mkdtemp(join(tmpdir(), 'minivl-bench-serve-'));
  try {
    await writeRandomCheckpoint({ like: 'internvl2-1b', tiny: true, out: join(tmp, 'tiny') });
    const vl = await MiniVL.load(join(tmp, 'tiny'));
    // 16 clients against 8 slots + a queue of 4: some requests must be answered 429 (and are retried).
    await withServer(vl, { maxConcurrency: 8, maxQueue: 4 }, async (url) => {
      const stats = { completed: 0, rejected429: 0, failed: 0, tokens: 0 };
      const deadline = performance.now() + SOAK_S * 1000;
      const failures: string[] = [];
      let inFlight = 0;
      const client = async (c: number) => {
        for (let i = 0; performance.now() < deadline; i++) {
          const maxTokens = 8 + ((c * 31 + i * 17) % 40);
          const content = i % 3 === 0 ? [{ type: 'image_url', image_url: { url: dataUrl('tiny_100x50.png') } }, { type: 'text', text: `client ${c} turn ${i}` }] : `client ${c} question ${i}`;
          inFlight++;
          try {
            const s = await stream(url, { messages: [{ role: 'user', content }], max_tokens: maxTokens });
            if (s.completionTokens < 1 || s.completionTokens > maxTokens) throw new Error(`bad usage ${s.completionTokens}`);
            stats.completed++;
            stats.tokens += s.completionTokens;
          } catch (e) {
            const err = e as Error & { status?: number; retryAfter?: number };
            if (err.status === 429) {
              stats.rejected429++;
              await new Promise((r) => setTimeout(r, 100));
            } else {
              stats.failed++;
              failures.push(err.message);
            }
          } finally {
            inFlight--;
          }
        }
      };
      await Promise.all(Array.from({ length: 16 }, (_, c) => client(c)));
      const lost = inFlight;
      console.log(
        `soak: 16 streaming clients × ${SOAK_S} s on a tiny checkpoint (8 slots, queue 4): ${stats.completed} completed (${stats.tokens} tokens), ` +
          `${stats.rejected429} answered 429 (retried), ${stats.failed} failed, ${lost} lost`,
      );
      if (failures.length > 0) console.log(`soak failures: ${[...new Set(failures)].slice(0, 3).join(' | ')}`);
      out.soak = { ...stats, lost, seconds: SOAK_S };
    });
    await vl.release();
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
console.log(JSON.stringify(out));
