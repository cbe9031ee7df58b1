/**
 * bf16 → float32 widening of a safetensors file, done once in the tab (the result is what the OPFS
 * cache keeps). onnxruntime-web's WASM build has no bf16 Cast kernel (session creation fails with
 * "Provider type for Cast node ... is not set"), and WebGPU has no bf16 at all, so the page hands
 * ONNX Runtime float32 tensors — the same values the Node engine gets from its folded Casts.
 */
import { bf16ToF32 } from '../src/io/dtype.ts';

interface Entry { dtype: string; shape: number[]; data_offsets: [number, number] }

export function widenBf16(file: Uint8Array): Uint8Array {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<string, Entry | Record<string, string>>;
  const body = file.subarray(8 + n);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  if (!names.some((k) => (header[k] as Entry).dtype === 'BF16')) return file;
  // Keep the file's tensor order; every tensor gets a new offset.
  names.sort((a, b) => (header[a] as Entry).data_offsets[0] - (header[b] as Entry).data_offsets[0]);
  const out: Record<string, unknown> = header.__metadata__ ? { __metadata__: header.__metadata__ } : {};
  let at = 0;
  const parts: { src: Uint8Array; widen: boolean; at: number }[] = [];
  for (const k of names) {
    const e = header[k] as Entry;
    const src = body.subarray(e.data_offsets[0], e.data_offsets[1]);
    const widen = e.dtype === 'BF16';
    const len = widen ? src.length * 2 : src.length;
    out[k] = { dtype: widen ? 'F32' : e.dtype, shape: e.shape, data_offsets: [at, at + len] };
    parts.push({ src, widen, at });
    at += len;
  }
  let head = new TextEncoder().encode(JSON.stringify(out));
  const pad = (8 - (head.length % 8)) % 8; // keeps the data 8-byte aligned, as writers do
  head = new TextEncoder().encode(JSON.stringify(out) + ' '.repeat(pad));
  const res = new Uint8Array(8 + head.length + at);
  new DataView(res.buffer).setBigUint64(0, BigInt(head.length), true);
  res.set(head, 8);
  const base = 8 + head.length;
  for (const p of parts) {
    if (!p.widen) {
      res.set(p.src, base + p.at);
      continue;
    }
    // The source may be unaligned for a Uint16Array view: copy first.
    const bf = new Uint16Array(p.src.slice().buffer);
    res.set(new Uint8Array(bf16ToF32(bf).buffer), base + p.at);
  }
  return res;
}
