/**
 * The page: load a checkpoint (URL, hub id or picked folder), then ask about an image; the answer
 * streams in, grounded boxes are drawn over the image. Everything runs in the tab: the core library
 * (tokenizer, preprocessing, prompt, generation) on onnxruntime-web, WebGPU when the browser has an
 * adapter, else WASM. `window.minivl` gives the console the loaded model and the library.
 */
import { MiniVL, type ChatResult } from '../src/core.ts';
import { DecodeState } from '../src/runtime/decode.ts';
import { host, lastLoad, pickFolder } from './platform.ts';
import { lastConversion } from './weight-cache.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (msg: string) => ($('status').textContent = msg);

let vl: MiniVL | null = null;
let image: { bytes: Uint8Array; bitmap: ImageBitmap } | null = null;

async function load(src: string): Promise<MiniVL> {
  $<HTMLButtonElement>('ask').disabled = true;
  await vl?.release();
  vl = null;
  const warnings: string[] = [];
  const device = $<HTMLSelectElement>('device').value as 'auto' | 'webgpu' | 'cpu';
  const dtype = $<HTMLSelectElement>('dtype').value as 'fp32' | 'int4';
  const t0 = performance.now();
  vl = await MiniVL.load(src, {
    device,
    dtype,
    warn: (m) => (warnings.push(m), status(m)),
    onProgress: (e) => status(e.stage === 'load' ? `loading ${e.dir} ...` : `${e.stage} ...`),
  });
  const backend = vl.model.device === 'webgpu' ? 'WebGPU' : 'WASM';
  status(`${vl.config.llm.family} ${dtype} loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${backend}; weights from ${lastLoad.weightSource}${warnings.length ? ` (${warnings.join('; ')})` : ''}`);
  $<HTMLButtonElement>('ask').disabled = false;
  return vl;
}

async function ask(): Promise<ChatResult> {
  if (!vl) throw new Error('load a checkpoint first');
  const out = $('answer');
  out.textContent = '';
  const stream = vl.chatStream({
    question: $<HTMLTextAreaElement>('question').value,
    images: image ? [image.bytes] : [],
    maxNum: Number($<HTMLInputElement>('max-num').value) || 6,
    generation: { maxNewTokens: Number($<HTMLInputElement>('max-new').value) || 64 },
    onProgress: (e) => status(`${e.stage} ...`),
  });
  for await (const chunk of stream) out.textContent += chunk.text;
  const r = await stream.result;
  const t = r.timings;
  status(`${r.tokenIds.length} tokens (${r.stopReason}); prefill ${t.prefillMs.toFixed(0)} ms, decode ${t.decodeMs.toFixed(0)} ms on ${vl.model.device === 'webgpu' ? 'WebGPU' : 'WASM'}`);
  draw(r);
  return r;
}

/** The image with the answer's grounded boxes (pixels of the first image). */
function draw(r?: ChatResult): void {
  const c = $<HTMLCanvasElement>('view');
  if (!image) return;
  c.width = image.bitmap.width;
  c.height = image.bitmap.height;
  const ctx = c.getContext('2d')!;
  ctx.drawImage(image.bitmap, 0, 0);
  ctx.lineWidth = Math.max(2, c.width / 200);
  ctx.font = `${Math.max(12, c.width / 40)}px sans-serif`;
  const drawn: number[][] = [];
  for (const g of r?.grounding ?? []) {
    for (const [x1, y1, x2, y2] of g.boxes) {
      drawn.push([x1, y1, x2, y2]);
      ctx.strokeStyle = '#e0245e';
      ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
      ctx.fillStyle = '#e0245e';
      ctx.fillText(g.ref ?? '', x1 + 4, y1 + ctx.lineWidth + 14);
    }
  }
  c.dataset.boxes = JSON.stringify(drawn);
}

const failed = (e: unknown) => status(`error: ${(e as Error).message}`);
$('load-url').addEventListener('click', () => load($<HTMLInputElement>('model-url').value.trim()).catch(failed));
$<HTMLInputElement>('model-folder').addEventListener('change', (ev) => {
  const list = (ev.target as HTMLInputElement).files;
  if (list && list.length > 0) load(pickFolder(Array.from(list))).catch(failed);
});
$<HTMLInputElement>('image').addEventListener('change', async (ev) => {
  const f = (ev.target as HTMLInputElement).files?.[0];
  if (!f) return;
  image = { bytes: new Uint8Array(await f.arrayBuffer()), bitmap: await createImageBitmap(f) };
  draw();
});
$('ask').addEventListener('click', () => ask().catch(failed));

// Console access: the loaded model, the library, and the engine's host (e.g. to load a model without a tokenizer).
Object.assign(window, { minivl: { MiniVL, DecodeState, host, lastLoad, lastConversion, load, ask, loaded: () => vl, setImage: async (bytes: Uint8Array) => { image = { bytes, bitmap: await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>])) }; draw(); } } });
