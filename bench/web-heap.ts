// The browser page's memory with a full-size checkpoint: loads DIR in the tab (Debian's chromium,
// headless, WASM backend) at --dtype int4, then reports the WASM heap (its peak: emscripten heaps only
// grow), how the weights arrived (converted files and the largest one), the load time and one forward.
//   node --import tsx bench/web-heap.ts --dir /work/ckpt/internvl2-1b [--dtype int4] [--tokens 16]
// Needs /usr/bin/chromium. Writes the page to a temporary folder; the checkpoint is read in place.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { serveStatic } from '../test/web/static-server.ts';
import { WASM_HEAP_PROBE } from '../test/web/page-scripts.ts';

const { values } = parseArgs({ options: { dir: { type: 'string' }, dtype: { type: 'string', default: 'int4' }, tokens: { type: 'string', default: '16' } } });
if (!values.dir) throw new Error('usage: bench/web-heap.ts --dir CHECKPOINT [--dtype int4|fp32] [--tokens N]');
const dir = resolve(values.dir);
const tmp = await mkdtemp(join(tmpdir(), 'minivl-web-heap-'));
try {
  const b = spawnSync(process.execPath, ['web/build.mjs', '--outdir', join(tmp, 'web')], { encoding: 'utf8' });
  if (b.status !== 0) throw new Error(b.stderr);
  const server = serveStatic({ '/': join(tmp, 'web'), '/model/': dir });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--no-first-run', '--js-flags=--max-old-space-size=16384'] });
  try {
    const page = await browser.newPage();
    await page.addInitScript(WASM_HEAP_PROBE);
    page.on('console', (m) => process.stderr.write(`page: ${m.text()}\n`));
    await page.goto(base + '/');
    await page.waitForFunction('window.minivl !== undefined');
    const r = await page.evaluate(`(async ({ dir, dtype, tokens }) => {
      const { host, lastConversion } = window.minivl;
      const t0 = performance.now();
      const model = await host.loadModel(dir, { device: 'cpu', dtype, onProgress: () => {}, log: (m) => console.log(m) });
      const loadS = (performance.now() - t0) / 1000;
      const heapAfterLoad = window.__wasmHeapBytes();
      const ids = Array.from({ length: tokens }, (_, i) => 100 + i * 7);
      const t1 = performance.now();
      const out = await model.forward({ embeds: await model.embed(ids) });
      const forwardMs = performance.now() - t1;
      let best = 0;
      for (let v = 1; v < out.logits.length; v++) if (out.logits[v] > out.logits[best]) best = v;
      const res = { device: model.device, loadS, heapAfterLoad, heapAfterForward: window.__wasmHeapBytes(), conversion: { ...lastConversion }, forwardMs, argmax: best, jsHeapUsed: performance.memory?.usedJSHeapSize ?? null };
      await model.release();
      return res;
    })(${JSON.stringify({ dir: `${base}/model`, dtype: values.dtype, tokens: Number(values.tokens) })})`);
    const GiB = (x: number) => (x / 2 ** 30).toFixed(2);
    const j = r as { heapAfterLoad: number; heapAfterForward: number; conversion: { largestBytes: number } };
    process.stdout.write(`${JSON.stringify({ checkpoint: dir, dtype: values.dtype, ...j, heap_gib_after_load: GiB(j.heapAfterLoad), heap_gib_after_forward: GiB(j.heapAfterForward), largest_file_gib: GiB(j.conversion.largestBytes), machine: `${cpus()[0]?.model} x${cpus().length}, ${GiB(totalmem())} GiB`, chromium: browser.version() })}\n`);
  } finally {
    await browser.close();
    server.close();
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
