/**
 * Safetensors reader and writer (format: u64-LE header length N, N bytes of JSON header, raw data).
 *
 * Hand-written: the npm packages for this either load the whole file into memory or cannot write;
 * checkpoints here are up to 5 GB per file, so the reader only parses the header at open time and
 * reads each tensor by offset through a file handle. The validation mirrors the reference Rust
 * implementation (huggingface/safetensors `Metadata::validate`) but reports one-line errors that name
 * the file and the problem.
 */
import { errnoCode, fail, MinivlError } from '../errors.ts';
import { host } from '../host/platform.ts';
import type { RandomAccessFile as FileHandle } from '../host/types.ts';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './dtype.ts';

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new MinivlError('minivl needs a little-endian CPU (safetensors data is little-endian)');

/**
 * Every dtype of the safetensors spec, in the reference's enum order (= increasing alignment). The
 * writer sorts tensors by this order, descending, then by name, as the reference writer does.
 */
const DTYPES = [
  'BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0',
  'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64',
] as const;
export type Dtype = (typeof DTYPES)[number];

/** Bits per element (sub-byte formats F4/F6 are packed; their tensors must fill whole bytes). */
const DTYPE_BITS: Readonly<Record<Dtype, number>> = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};

/** The dtypes that `readFloat32` widens from. */
export const FLOAT_DTYPES: ReadonlySet<Dtype> = new Set<Dtype>(['F16', 'BF16', 'F32', 'F64']);

const INT_DTYPES: ReadonlySet<Dtype> = new Set<Dtype>(['BOOL', 'U8', 'I8', 'I16', 'U16', 'I32', 'U32', 'I64', 'U64']);

const DTYPE_ORDER = new Map<string, number>(DTYPES.map((d, i) => [d, i]));

export function isDtype(s: unknown): s is Dtype {
  return typeof s === 'string' && DTYPE_ORDER.has(s);
}

/** Bytes per element for byte-sized dtypes (throws for the packed sub-byte formats). */
export function dtypeSize(dt: Dtype): number {
  const bits = DTYPE_BITS[dt];
  if (bits % 8 !== 0) throw new RangeError(`dtype ${dt} is not byte-sized`);
  return bits / 8;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Absolute real path of the file holding the tensor (symlinks resolved). */
  file: string;
  /** Absolute byte offset in `file`: 8 + header length + data_offsets[0]. */
  offset: number;
  byteLength: number;
}

/** The reference refuses headers over 100 MB; so do we (a garbage length must not allocate GBs). */
const MAX_HEADER_BYTES = 100_000_000;

/** Reads exactly `length` bytes at `position` (fh.read may return less, e.g. > 2 GiB reads). */
async function readExactly(fh: FileHandle, target: Uint8Array, position: number, label: string): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const want = Math.min(target.length - done, 0x40000000);
    const { bytesRead } = await fh.read(target, done, want, position + done);
    if (bytesRead === 0) fail(`${label}: unexpected end of file at byte ${position + done} (file changed or truncated?)`);
    done += bytesRead;
  }
}

export class SafetensorsFile {
  private constructor(
    /** Absolute real path (symlinks resolved: ORT external data needs the real file). */
    readonly path: string,
    /** The path as given to open(), used in messages. */
    readonly label: string,
    readonly headerLength: number,
    readonly fileSize: number,
    readonly metadata: Record<string, string>,
    /** Tensors in file (offset) order. */
    readonly tensors: Map<string, TensorInfo>,
  ) {}

  /** Opens a file and validates its header; reads no tensor data. */
  static async open(path: string): Promise<SafetensorsFile> {
    const label = path;
    let real: string;
    try {
      real = await host.files.realpath(host.path.resolve(path));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      fail(`${label}: ${code === 'ENOENT' ? 'no such file' : `cannot open (${errnoCode(e)})`}`);
    }
    let fh: FileHandle;
    try {
      fh = await host.files.open(real);
    } catch (e) {
      fail(`${label}: cannot open (${errnoCode(e)})`);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) fail(`${label}: not a regular file`);
      const size = st.size;
      if (size < 8) fail(`${label}: not a safetensors file: ${size} bytes, shorter than the 8-byte header length`);
      const lenBuf = new Uint8Array(8);
      await readExactly(fh, lenBuf, 0, label);
      const n64 = new DataView(lenBuf.buffer).getBigUint64(0, true);
      if (n64 > BigInt(MAX_HEADER_BYTES)) {
        fail(`${label}: corrupt header: header length ${n64} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
      }
      const n = Number(n64);
      if (n < 2) fail(`${label}: corrupt header: header length ${n} is too small`);
      if (8 + n > size) fail(`${label}: corrupt header: header length ${n} runs past the end of the ${size}-byte file`);
      const headerBytes = new Uint8Array(n);
      await readExactly(fh, headerBytes, 8, label);
      const tensors = parseHeader(headerBytes, label, real, size);
      return new SafetensorsFile(real, label, n, size, tensors.metadata, tensors.tensors);
    } finally {
      await fh.close();
    }
  }

  /** Tensor names in file order. */
  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** Tensor info, or a one-line error naming the file and the tensor. */
  info(name: string): TensorInfo {
    return this.tensors.get(name) ?? fail(`${this.label}: no tensor '${name}'`);
  }

  /** Raw little-endian bytes of a tensor (a fresh, 8-byte-aligned buffer). */
  async readBytes(name: string): Promise<Uint8Array> {
    return readTensorBytes(this.info(name), this.label);
  }

  /**
   * `length` bytes of a tensor starting at byte `start` of its data (e.g. a few embedding rows:
   * row r of a [V, H] BF16 matrix starts at r·H·2), without reading the rest.
   */
  async readBytesRange(name: string, start: number, length: number): Promise<Uint8Array> {
    const info = this.info(name);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 0 || start + length > info.byteLength) {
      fail(`${this.label}: byte range [${start}, ${start + length}) is outside tensor '${name}' (${info.byteLength} bytes)`);
    }
    const out = new Uint8Array(length);
    await readFileRange(info.file, info.offset + start, out, this.label);
    return out;
  }

  /** The tensor in its natural typed array (F32 → Float32Array, I64 → BigInt64Array, BF16/F16 → raw Uint16Array ...). */
  async readTyped(name: string): Promise<TypedTensorData> {
    const info = this.info(name);
    return asTypedArray(await readTensorBytes(info, this.label), info, this.label);
  }

  /** A float tensor widened to float32 (BF16/F16 exactly; F64 rounded). */
  async readFloat32(name: string): Promise<Float32Array> {
    const info = this.info(name);
    return bytesToFloat32(await readTensorBytes(info, this.label), info, this.label);
  }

  /** An I64 tensor. */
  async readInt64(name: string): Promise<BigInt64Array> {
    const info = this.info(name);
    if (info.dtype !== 'I64') fail(`${this.label}: tensor '${name}' is ${info.dtype}, expected I64`);
    const b = await readTensorBytes(info, this.label);
    return new BigInt64Array(b.buffer, b.byteOffset, b.byteLength / 8);
  }

  /** An integer or bool tensor as plain numbers (I64/U64 must fit in ±2^53). */
  async readIntegers(name: string): Promise<number[]> {
    const info = this.info(name);
    if (!INT_DTYPES.has(info.dtype)) fail(`${this.label}: tensor '${name}' is ${info.dtype}, expected an integer dtype`);
    const data = await this.readTyped(name);
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
      const out = new Array<number>(data.length);
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!;
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
          fail(`${this.label}: tensor '${name}' element ${i} (${v}) does not fit a JS number`);
        }
        out[i] = Number(v);
      }
      return out;
    }
    return Array.from(data as ArrayLike<number>);
  }
}

export type TypedTensorData =
  | Float32Array | Float64Array | Uint16Array | Int16Array | Int8Array | Uint8Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/**
 * Each read opens and closes its own handle (no handle outlives a call, nothing to close), and at
 * most MAX_OPEN reads run at once, so `Promise.all` over hundreds of tensors cannot exhaust file
 * descriptors.
 */
const MAX_OPEN = 16;
let openNow = 0;
const waiting: (() => void)[] = [];

async function withReadSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (openNow >= MAX_OPEN) await new Promise<void>((r) => waiting.push(r));
  else openNow++;
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next(); // hand the slot over directly
    else openNow--;
  }
}

async function readFileRange(file: string, position: number, out: Uint8Array, label: string): Promise<void> {
  if (out.byteLength === 0) return;
  await withReadSlot(async () => {
    let fh: FileHandle;
    try {
      fh = await host.files.open(file);
    } catch (e) {
      fail(`${label}: cannot open (${errnoCode(e)})`);
    }
    try {
      await readExactly(fh, out, position, label);
    } finally {
      await fh.close();
    }
  });
}

async function readTensorBytes(info: TensorInfo, label: string): Promise<Uint8Array> {
  // A fresh ArrayBuffer is 8-byte aligned, so typed views of any element size work on it.
  const out = new Uint8Array(info.byteLength);
  await readFileRange(info.file, info.offset, out, label);
  return out;
}

/** Views raw tensor bytes as the dtype's natural typed array (no copy). */
function asTypedArray(b: Uint8Array, info: Pick<TensorInfo, 'name' | 'dtype'>, label: string): TypedTensorData {
  const { buffer, byteOffset, byteLength } = b;
  switch (info.dtype) {
    case 'F32': return new Float32Array(buffer, byteOffset, byteLength / 4);
    case 'F64': return new Float64Array(buffer, byteOffset, byteLength / 8);
    case 'BF16': case 'F16': case 'U16': return new Uint16Array(buffer, byteOffset, byteLength / 2);
    case 'I16': return new Int16Array(buffer, byteOffset, byteLength / 2);
    case 'I32': return new Int32Array(buffer, byteOffset, byteLength / 4);
    case 'U32': return new Uint32Array(buffer, byteOffset, byteLength / 4);
    case 'I64': return new BigInt64Array(buffer, byteOffset, byteLength / 8);
    case 'U64': return new BigUint64Array(buffer, byteOffset, byteLength / 8);
    case 'I8': return new Int8Array(buffer, byteOffset, byteLength);
    case 'U8': case 'BOOL': return b;
    default: return fail(`${label}: tensor '${info.name}' has dtype ${info.dtype}, which minivl cannot read`);
  }
}

/** Raw float bytes → float32 (BF16/F16 exact, F32 as is, F64 rounded). */
function bytesToFloat32(b: Uint8Array, info: Pick<TensorInfo, 'name' | 'dtype'>, label: string): Float32Array {
  const { buffer, byteOffset, byteLength } = b;
  switch (info.dtype) {
    case 'F32': return new Float32Array(buffer, byteOffset, byteLength / 4);
    case 'BF16': return bf16ToF32(new Uint16Array(buffer, byteOffset, byteLength / 2));
    case 'F16': return f16ToF32(new Uint16Array(buffer, byteOffset, byteLength / 2));
    case 'F64': return Float32Array.from(new Float64Array(buffer, byteOffset, byteLength / 8));
    default: return fail(`${label}: tensor '${info.name}' is ${info.dtype}, not a float tensor (F32/F16/BF16/F64)`);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Parses and validates a header; returns tensors in offset order with absolute offsets. */
function parseHeader(
  bytes: Uint8Array,
  label: string,
  file: string,
  fileSize: number,
): { metadata: Record<string, string>; tensors: Map<string, TensorInfo> } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    fail(`${label}: corrupt header: not valid UTF-8`);
  }
  if (!text.startsWith('{')) fail(`${label}: corrupt header: does not start with '{' (not a safetensors file?)`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`${label}: corrupt header: invalid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (!isPlainObject(json)) fail(`${label}: corrupt header: JSON is not an object`);

  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: Dtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, v] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (v === null) continue;
      if (!isPlainObject(v)) fail(`${label}: corrupt header: __metadata__ is not an object`);
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== 'string') fail(`${label}: corrupt header: __metadata__.${k} is not a string`);
        metadata[k] = s;
      }
      continue;
    }
    if (!isPlainObject(v)) fail(`${label}: corrupt header: entry '${name}' is not an object`);
    const { dtype, shape, data_offsets: offs } = v;
    if (!isDtype(dtype)) fail(`${label}: corrupt header: tensor '${name}' has unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
      fail(`${label}: corrupt header: tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isNonNegInt) || offs[1] < offs[0]) {
      fail(`${label}: corrupt header: tensor '${name}' has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const n = numel(shape);
    const bits = n * DTYPE_BITS[dtype];
    if (!Number.isSafeInteger(bits) || bits % 8 !== 0) {
      fail(`${label}: corrupt header: tensor '${name}' shape ${JSON.stringify(shape)} × ${dtype} is not a whole number of bytes`);
    }
    const span = offs[1] - offs[0];
    if (span !== bits / 8) {
      fail(
        `${label}: corrupt header: tensor '${name}' ${dtype} ${JSON.stringify(shape)} needs ${bits / 8} bytes but data_offsets [${offs[0]}, ${offs[1]}] span ${span}`,
      );
    }
    entries.push({ name, dtype, shape: shape as number[], begin: offs[0], end: offs[1] });
  }

  // The data region must be covered exactly, in offset order, without gaps or overlaps.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataStart = 8 + bytes.length;
  const dataBytes = fileSize - dataStart;
  let pos = 0;
  let prev: string | undefined;
  for (const e of entries) {
    if (e.begin < pos) fail(`${label}: corrupt header: tensor '${e.name}' [${e.begin}, ${e.end}] overlaps tensor '${prev}' (ends at ${pos})`);
    if (e.begin > pos) fail(`${label}: corrupt header: gap in the data before tensor '${e.name}' (bytes ${pos}..${e.begin} belong to no tensor)`);
    pos = e.end;
    prev = e.name;
  }
  if (pos > dataBytes) fail(`${label}: truncated: header says ${pos} bytes of data, file has ${dataBytes}`);
  if (pos < dataBytes) fail(`${label}: corrupt: ${dataBytes - pos} trailing bytes after the last tensor (header says ${pos} bytes of data, file has ${dataBytes})`);

  const tensors = new Map<string, TensorInfo>();
  for (const e of entries) {
    tensors.set(e.name, { name: e.name, dtype: e.dtype, shape: e.shape, file, offset: dataStart + e.begin, byteLength: e.end - e.begin });
  }
  return { metadata, tensors };
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface TensorToWrite {
  name: string;
  dtype: Dtype;
  shape: number[];
  /**
   * Raw bytes (Uint8Array, any dtype), the dtype's own typed array (Float32Array for F32,
   * Uint16Array for BF16/F16 bits, BigInt64Array for I64 ...), a Float32Array for BF16/F16/F64
   * (converted with round-to-nearest-even), or a number[] (converted to the dtype).
   */
  data: Uint8Array | TypedTensorData | number[];
}

function toBytes(t: TensorToWrite, label: string): Uint8Array {
  const { data, dtype, name } = t;
  const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (data instanceof Uint8Array) return data;
  if (Array.isArray(data)) {
    switch (dtype) {
      case 'F32': return bytesOf(Float32Array.from(data));
      case 'F64': return bytesOf(Float64Array.from(data));
      case 'BF16': return bytesOf(f32ToBf16(Float32Array.from(data)));
      case 'F16': return bytesOf(f32ToF16(Float32Array.from(data)));
      case 'I8': return bytesOf(Int8Array.from(data));
      case 'U8': case 'BOOL': return Uint8Array.from(data);
      case 'I16': return bytesOf(Int16Array.from(data));
      case 'U16': return bytesOf(Uint16Array.from(data));
      case 'I32': return bytesOf(Int32Array.from(data));
      case 'U32': return bytesOf(Uint32Array.from(data));
      case 'I64': return bytesOf(BigInt64Array.from(data, (x) => BigInt(x)));
      case 'U64': return bytesOf(BigUint64Array.from(data, (x) => BigInt(x)));
      default: return fail(`${label}: cannot write tensor '${name}' as ${dtype} from numbers`);
    }
  }
  if (data instanceof Float32Array) {
    if (dtype === 'F32') return bytesOf(data);
    if (dtype === 'BF16') return bytesOf(f32ToBf16(data));
    if (dtype === 'F16') return bytesOf(f32ToF16(data));
    if (dtype === 'F64') return bytesOf(Float64Array.from(data));
  }
  const natural: Partial<Record<Dtype, (d: unknown) => boolean>> = {
    F64: (d) => d instanceof Float64Array,
    BF16: (d) => d instanceof Uint16Array,
    F16: (d) => d instanceof Uint16Array,
    U16: (d) => d instanceof Uint16Array,
    I16: (d) => d instanceof Int16Array,
    I32: (d) => d instanceof Int32Array,
    U32: (d) => d instanceof Uint32Array,
    I64: (d) => d instanceof BigInt64Array,
    U64: (d) => d instanceof BigUint64Array,
    I8: (d) => d instanceof Int8Array,
  };
  if (natural[dtype]?.(data)) return bytesOf(data);
  return fail(`${label}: cannot write tensor '${name}' as ${dtype} from a ${data.constructor.name}`);
}

/** Compares names by UTF-8 bytes, as the reference's Rust `String` ordering does. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Serializes tensors exactly as the reference writer lays them out: sorted by dtype (descending
 * alignment) then name, compact JSON header with `__metadata__` first, padded with spaces to a
 * multiple of 8 bytes. Returns the header block (8-byte length + header) and the data pieces.
 */
export function prepareSafetensors(
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string> | undefined,
  label: string,
): { head: Uint8Array; pieces: Uint8Array[]; totalBytes: number } {
  const seen = new Set<string>();
  const items = tensors.map((t) => {
    if (t.name === '__metadata__') fail(`${label}: '__metadata__' cannot be a tensor name`);
    if (seen.has(t.name)) fail(`${label}: duplicate tensor name '${t.name}'`);
    seen.add(t.name);
    if (!isDtype(t.dtype)) fail(`${label}: tensor '${t.name}' has unknown dtype ${JSON.stringify(t.dtype)}`);
    if (!t.shape.every(isNonNegInt)) fail(`${label}: tensor '${t.name}' has an invalid shape ${JSON.stringify(t.shape)}`);
    const bytes = toBytes(t, label);
    const bits = numel(t.shape) * DTYPE_BITS[t.dtype];
    if (bits % 8 !== 0 || bytes.byteLength !== bits / 8) {
      fail(`${label}: tensor '${t.name}' ${t.dtype} ${JSON.stringify(t.shape)} needs ${bits / 8} bytes, data has ${bytes.byteLength}`);
    }
    return { t, bytes };
  });
  items.sort((a, b) => DTYPE_ORDER.get(b.t.dtype)! - DTYPE_ORDER.get(a.t.dtype)! || compareUtf8(a.t.name, b.t.name));

  const header: Record<string, unknown> = {};
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') fail(`${label}: metadata value for '${k}' is not a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const { t, bytes } of items) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const head = new Uint8Array(8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
  head.set(json, 8);
  return { head, pieces: items.map((i) => i.bytes), totalBytes: head.length + offset };
}

/** Serializes to one in-memory buffer (small files, tests). */
export function serializeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  const { head, pieces, totalBytes } = prepareSafetensors(tensors, metadata, '<buffer>');
  const out = new Uint8Array(totalBytes);
  out.set(head, 0);
  let pos = head.length;
  for (const p of pieces) {
    out.set(p, pos);
    pos += p.byteLength;
  }
  return out;
}

/**
 * Writes a safetensors file atomically (see writeFileAtomic): a crash never leaves a half-written file
 * under the final name.
 */
export async function writeSafetensors(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata?: Record<string, string>,
): Promise<void> {
  const { head, pieces } = prepareSafetensors(tensors, metadata, path);
  await host.files.writeFileAtomic(path, async (sink) => {
    await sink.write(head);
    for (const p of pieces) await sink.write(p);
  });
}

/** True when `path` exists and is a file (helper for folder probing). */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await host.files.stat(path)).isFile();
  } catch {
    return false;
  }
}
