// The browser build (web/) in a real browser: Debian's chromium driven by playwright-core, the page
// served from 127.0.0.1. The tiny golden model (read in place from ../shared) runs in the tab on
// onnxruntime-web and must produce the golden greedy tokens; a second load reads its weights from the
// Origin Private File System; a tiny checkpoint steered to a grounding answer goes through the page's
// own controls (stream, boxes). The golden check runs with device 'auto' (WebGPU on chromium's software
// Vulkan adapter, SwiftShader; the backend that ran is printed), the page test on WASM; a screenshot is saved.
// int4 in the tab (WASM): converted in the tab into ≤ 1 GiB external-data files, logits within the int4
// target of Node's int4, the WASM heap measured (bench/web-heap.ts does it for full-size checkpoints).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { GOLDEN, ROOT, SHARED } from '../helpers/paths.ts';
import { image } from '../generate/chat-helpers.ts';
import { writeSteeredCheckpoint, STEERED_BOX } from '../serve/steered-checkpoint.ts';
import { serveStatic } from './static-server.ts';
import { Model } from '../../src/runtime/model.ts';
import { relL2 } from '../../src/runtime/metrics.ts';
import { QUANT_TARGETS } from '../../src/runtime/parity-quant.ts';
import { SafetensorsFile } from '../../src/io/safetensors.ts';
import { WASM_HEAP_PROBE, INT4_TEXT_LOGITS } from './page-scripts.ts';

const CHROMIUM = '/usr/bin/chromium';
// --enable-unsafe-webgpu exposes WebGPU on Linux; with no GPU, chromium's adapter is its own software
// Vulkan (SwiftShader). Without an adapter the page runs on WASM.
const FLAGS = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--enable-unsafe-webgpu'];
const SCREENSHOT = process.env.MINIVL_SCREENSHOT ?? join(tmpdir(), 'minivl-web-page.png');

let server: Server;
let base = '';
let browser: Browser;
let tmp = '';

before(async () => {
  if (!existsSync(CHROMIUM)) return;
  tmp = await mkdtemp(join(tmpdir(), 'minivl-web-'));
  const dist = join(tmp, 'web');
  const b = spawnSync(process.execPath, ['web/build.mjs', '--outdir', dist], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(b.status, 0, b.stderr);
  await writeSteeredCheckpoint(join(tmp, 'steered'));
  server = serveStatic({ '/': dist, '/shared/': SHARED, '/ckpt/': tmp });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
});
after(async () => {
  await browser?.close();
  server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const skip = !existsSync(CHROMIUM) && `${CHROMIUM} is not installed`;

// Page-side code is passed as strings: this project's TypeScript has no DOM types.
const GOLDEN_GREEDY = `async ({ base, steps }) => {
  const readSafetensors = async (url) => {
    const buf = await (await fetch(url)).arrayBuffer();
    const n = Number(new DataView(buf).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, n)));
    const get = (name) => {
      const t = header[name], [a, b] = t.data_offsets, bytes = buf.slice(8 + n + a, 8 + n + b);
      return t.dtype === 'F32' ? new Float32Array(bytes) : Array.from(new BigInt64Array(bytes), Number);
    };
    return { get, shape: (name) => header[name].shape };
  };
  const dir = base + '/shared/golden/models/qwen2';
  const meta = await (await fetch(dir + '/meta.json')).json();
  const gold = await readSafetensors(dir + '/golden.safetensors');
  const pv = await readSafetensors(base + '/shared/golden/preprocess/model_input_wide_1920x1080_max2.safetensors');
  const { host, DecodeState, lastLoad } = window.minivl;
  const model = await host.loadModel(dir, { device: 'auto' });
  try {
    const ids = gold.get('input_ids');
    const enc = await model.encodeImages(pv.get('pixel_values'), pv.shape('pixel_values')[0]);
    const st = new DecodeState(model, ids.length + steps + 1);
    let logits = await st.feed(await model.embedWithImages(ids, enc.vitEmbeds, meta.img_context_id));
    const tokens = [];
    for (let i = 0; i < steps; i++) {
      let best = 0;
      for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
      tokens.push(best);
      if (i < steps - 1) logits = await st.step(best);
    }
    return { tokens, device: model.device, weights: lastLoad.weightSource, crossOriginIsolated: self.crossOriginIsolated };
  } finally {
    await model.release();
  }
}`;

test('the tiny golden model in the tab produces the golden greedy tokens; the second load reads OPFS', { skip }, async () => {
  const golden = (JSON.parse(readFileSync(join(GOLDEN, 'models', 'qwen2', 'meta.json'), 'utf8')) as { greedy_tokens: number[] }).greedy_tokens;
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base + '/');
  await page.waitForFunction('window.minivl !== undefined');
  const t0 = performance.now();
  const first = (await page.evaluate(`(${GOLDEN_GREEDY})(${JSON.stringify({ base, steps: golden.length })})`)) as { tokens: number[]; device: string; weights: string; crossOriginIsolated: boolean };
  console.log(`golden greedy in the tab: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`browser backend: ${first.device === 'webgpu' ? 'WebGPU (chromium software Vulkan adapter)' : 'WASM'}; crossOriginIsolated ${first.crossOriginIsolated}`);
  assert.deepEqual(first.tokens, golden);
  assert.equal(first.weights, 'network');
  await page.reload();
  await page.waitForFunction('window.minivl !== undefined');
  // The second visit: the converted weights come from OPFS (the model's outputs were checked above).
  const second = (await page.evaluate(`(async () => {
    const m = await window.minivl.host.loadModel(${JSON.stringify(base + '/shared/golden/models/qwen2')}, { device: 'auto' });
    await m.release();
    return window.minivl.lastLoad.weightSource;
  })()`)) as string;
  assert.equal(second, 'opfs-cache');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the page loads a checkpoint URL, streams the answer and draws its grounding box; screenshot saved', { skip }, async () => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base + '/');
  // WASM here (the golden test above ran WebGPU): on chromium's software adapter a decode step takes
  // seconds, on WASM milliseconds.
  await page.selectOption('#device', 'cpu');
  await page.fill('#model-url', `${base}/ckpt/steered`);
  await page.click('#load-url');
  await page.waitForFunction("!document.getElementById('ask').disabled", undefined, { timeout: 120_000 });
  const loaded = await page.textContent('#status');
  assert.match(loaded ?? '', /loaded in .* on WASM; weights from network/);
  console.log(`page status: ${loaded}`);
  await page.setInputFiles('#image', image('photo_demo1.jpg'));
  await page.waitForFunction("document.getElementById('view').width > 0");
  await page.fill('#max-num', '1');
  await page.fill('#max-new', '32');
  await page.evaluate(`
    window.lengths = [];
    new MutationObserver(() => window.lengths.push(document.getElementById('answer').textContent.length))
      .observe(document.getElementById('answer'), { subtree: true, childList: true, characterData: true });
  `);
  await page.click('#ask');
  await page.waitForFunction("/tokens \\(|error:/.test(document.getElementById('status').textContent)", undefined, { timeout: 120_000 });
  const done = (await page.textContent('#status')) ?? '';
  assert.match(done, /^21 tokens \(eos\)/);
  console.log(`page status: ${done}`);
  assert.equal(await page.textContent('#answer'), 'cat[[10,23 ,456,\n789]]');
  const lengths = (await page.evaluate('window.lengths')) as number[];
  assert.ok(new Set(lengths).size >= 5, `the answer arrived in steps: ${lengths.join(',')}`);
  // Boxes are drawn in pixels of the image: the model's 0..1000 box scaled by the image size.
  const { width, height, boxes } = (await page.evaluate("(() => { const c = document.getElementById('view'); return { width: c.width, height: c.height, boxes: JSON.parse(c.dataset.boxes) }; })()")) as { width: number; height: number; boxes: number[][] };
  const [x1, y1, x2, y2] = STEERED_BOX as [number, number, number, number];
  assert.equal(boxes.length, 1);
  const expected = [(x1 / 1000) * width, (y1 / 1000) * height, (x2 / 1000) * width, (y2 / 1000) * height];
  boxes[0]!.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= 1, `box[${i}] ${v} vs ${expected[i]}`));
  assert.deepEqual(errors, []);
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  assert.deepEqual([...readFileSync(SCREENSHOT).subarray(1, 4)], [...Buffer.from('PNG')]);
  console.log(`screenshot: ${SCREENSHOT}`);
  await page.close();
});

test('int4 in the tab (WASM): weights converted into ≤ 1 GiB external-data files, logits within the int4 target of Node int4, WASM heap measured', { skip }, async () => {
  const dir = join(GOLDEN, 'models', 'qwen2');
  const gold = await SafetensorsFile.open(join(dir, 'golden.safetensors'));
  const ids = await gold.readIntegers('text_input_ids');
  const node = await Model.load(dir, { dtype: 'int4', weightCacheRoot: join(tmp, 'wcache') });
  const ref = (await node.forward({ embeds: await node.embed(ids), logitsPositions: ids.map((_, i) => i) })).logits;
  await node.release();
  const page = await browser.newPage();
  await page.addInitScript(WASM_HEAP_PROBE);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base + '/');
  await page.waitForFunction('window.minivl !== undefined');
  type R = { logits: number[]; device: string; heapBytes: number; conversion: { files: number; largestBytes: number; source: string }; weights: string };
  const r = (await page.evaluate(`(${INT4_TEXT_LOGITS})(${JSON.stringify({ dir: base + '/shared/golden/models/qwen2', ids })})`)) as R;
  console.log(`int4 in the tab: ${r.device}, ${r.conversion.files} converted file(s), largest ${r.conversion.largestBytes} B, WASM heap ${(r.heapBytes / 2 ** 20).toFixed(1)} MiB`);
  assert.equal(r.device, 'cpu'); // WASM
  assert.equal(r.conversion.source, 'converted');
  assert.ok(r.conversion.files >= 1 && r.conversion.largestBytes <= 2 ** 30);
  assert.ok(r.heapBytes > 0, 'the WASM memory was found');
  const err = relL2(Float32Array.from(r.logits), ref);
  console.log(`int4 tab (WASM) vs Node int4 (CPU) text logits rel-L2 ${err.toExponential(2)}`);
  assert.ok(err < QUANT_TARGETS.int4!.logits_rel_l2, `rel-L2 ${err}`);
  // The second load reads the converted int4 files from OPFS.
  await page.reload();
  await page.waitForFunction('window.minivl !== undefined');
  const again = (await page.evaluate(`(${INT4_TEXT_LOGITS})(${JSON.stringify({ dir: base + '/shared/golden/models/qwen2', ids })})`)) as R;
  assert.equal(again.conversion.source, 'opfs-cache');
  assert.deepEqual(again.logits, r.logits);
  assert.deepEqual(errors, []);
  await page.close();
});
