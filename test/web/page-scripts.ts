// Page-side code of the browser tests, as strings (this project's TypeScript has no DOM types).

/**
 * An init script: keeps every WebAssembly.Memory the page makes (imported by onnxruntime-web's
 * threaded build, or exported by an instance), so a test can read the WASM heap's size; emscripten
 * heaps only grow, so the size after a load is its peak.
 */
export const WASM_HEAP_PROBE = `(() => {
  const mems = [];
  const M = WebAssembly.Memory;
  const Probe = function (desc) { const m = new M(desc); mems.push(m); return m; };
  Probe.prototype = M.prototype;
  WebAssembly.Memory = Probe;
  const inst = WebAssembly.instantiate;
  WebAssembly.instantiate = async function (...a) {
    const r = await inst.apply(this, a);
    const exp = (r.instance ?? r).exports;
    for (const v of Object.values(exp ?? {})) if (v instanceof M) mems.push(v);
    return r;
  };
  const stream = WebAssembly.instantiateStreaming;
  if (stream) WebAssembly.instantiateStreaming = async function (...a) {
    const r = await stream.apply(this, a);
    for (const v of Object.values(r.instance.exports)) if (v instanceof M) mems.push(v);
    return r;
  };
  window.__wasmHeapBytes = () => Math.max(0, ...mems.map((m) => m.buffer.byteLength));
})();`;

/** Loads `dir` in int4 on WASM, returns the text logits of `ids` at every position, the heap size and where the weights came from. */
export const INT4_TEXT_LOGITS = `async ({ dir, ids }) => {
  const { host, lastLoad, lastConversion } = window.minivl;
  const model = await host.loadModel(dir, { device: 'cpu', dtype: 'int4' });
  try {
    const r = await model.forward({ embeds: await model.embed(ids), logitsPositions: ids.map((_, i) => i) });
    return { logits: Array.from(r.logits), device: model.device, heapBytes: window.__wasmHeapBytes(), conversion: { ...lastConversion }, weights: lastLoad.weightSource };
  } finally {
    await model.release();
  }
}`;
