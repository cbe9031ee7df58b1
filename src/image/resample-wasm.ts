/**
 * WebAssembly SIMD runner for the resampler's two passes (source: resample.wat beside this file). The
 * kernels do the same integer arithmetic as the TypeScript passes in resample.ts, 4-16 samples per
 * instruction, which makes the resize about 5-10x faster; tests run both and compare with Pillow.
 * Regenerate the bytes after editing resample.wat (the test in test/image/decode-resize.test.ts compiles
 * it with the `wabt` dev dependency and compares):
 *   wat2wasm src/image/resample.wat -o /tmp/r.wasm && base64 -w0 /tmp/r.wasm   (or Debian's 'wabt')
 */
const RESAMPLE_WASM_BASE64 =
  'AGFzbQEAAAABDQFgCX9/f39/f39/fwADAwIAAAUDAQABByIDBm1lbW9yeQIACHZlcnRpY2FsAAAKaG9yaXpvbnRhbAABCp8EAsgCAgh/CHsgAkEQayEQIAYhCQJAA0AgCSAHTw0BIAAgAyAJQQJ0aigCACABayACbGohDyAEIAkgBWxBAnRqIQ0gCCAJIAJsaiEOQQAhCgJAA0BBgICAAf0RIRIgEiETIBIhFCASIRUgDyAKaiEMQQAhCwNAIA0gC0ECdGooAgD9ESERIAz9AAQAIRYgFv2JASEXIBb9igEhGCASIBf9qQEgEf21Af2uASESIBMgF/2qASAR/bUB/a4BIRMgFCAY/akBIBH9tQH9rgEhFCAVIBj9qgEgEf21Af2uASEVIAwgAmohDCALQQFqIQsgCyAFSQ0ACyAOIApqIBJBFv2sASATQRb9rAH9hQEgFEEW/awBIBVBFv2sAf2FAf1m/QsEACAKIBBPDQEgCkEQaiEKIAogEEsEQCAQIQoLDAALCyAJQQFqIQkMAAsLC9IBAgd/AnsgCCEPIAIhCQJAA0AgCSADTw0BIAAgCSABbGohDEEAIQogBSEOAkADQCAKIAdPDQEgDCAEIApBAnRqKAIAQQNsaiENQYCAgAH9ESEQQQAhCwNAIA39XAIAIREgECAR/YkB/akBIA4oAgD9Ef21Af2uASEQIA1BA2ohDSAOQQRqIQ4gC0EBaiELIAsgBkkNAAsgEEEW/awBIREgESAR/YUBIREgDyARIBH9Zv1aAgAAIA9BA2ohDyAKQQFqIQoMAAsLIAlBAWohCQwACwsL';

// Minimal typing of the WebAssembly global: the project's tsconfig has no DOM lib and @types/node 20 does
// not declare it. Only what this file uses.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports?: object) => { exports: unknown };
};

interface Exports {
  memory: WasmMemory;
  vertical(src: number, row0: number, R: number, starts: number, w: number, k: number, yy0: number, yy1: number, dst: number): void;
  horizontal(src: number, inRow: number, y0: number, y1: number, starts: number, w: number, k: number, outW: number, dst: number): void;
}

let compiled: WasmModule | null | undefined;
let instance: Exports | null = null;

/** The compiled module, or null where WebAssembly SIMD is unavailable (then the TypeScript passes run). */
function wasmModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Uint8Array.from(atob(RESAMPLE_WASM_BASE64), (c) => c.charCodeAt(0)));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** True where the WebAssembly kernels can run (Node 20 and current browsers). */
export function wasmAvailable(): boolean {
  return wasmModule() !== null;
}

/** Memory kept between calls; above this the instance is dropped after use so its memory can be freed. */
const KEEP_BYTES = 128 << 20;

/**
 * Runs `fn` with kernels whose linear memory holds at least `bytes` bytes (offsets from 0), or returns
 * null if WebAssembly is unavailable.
 */
export function withKernels<T>(bytes: number, fn: (k: Exports, mem: () => Uint8Array) => T): T | null {
  const mod = wasmModule();
  if (!mod) return null;
  if (!instance) instance = new WebAssembly.Instance(mod).exports as unknown as Exports;
  const k = instance;
  const have = k.memory.buffer.byteLength;
  if (bytes > have) {
    try {
      k.memory.grow(Math.ceil((bytes - have) / 65536));
    } catch {
      return null; // over the 4 GiB of wasm32 or out of memory: the TypeScript passes take over
    }
  }
  try {
    return fn(k, () => new Uint8Array(k.memory.buffer));
  } finally {
    if (k.memory.buffer.byteLength > KEEP_BYTES) instance = null;
  }
}
