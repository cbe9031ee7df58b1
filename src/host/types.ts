/**
 * What the core needs from the platform it runs on, in one interface: file access (checkpoint and
 * tokenizer folders, safetensors by byte range), path arithmetic, hashing, the image decoder, the hub
 * cache and the inference engine. `platform.ts` picks the implementation: `node.ts` (node:fs, sharp,
 * onnxruntime-node) now; a browser build maps platform.ts to `browser.ts` (fetch, canvas, onnxruntime-web).
 * The core (tokenizer, image except its decoder, prompt, graph, model, generate, the facade) reaches
 * the platform only through this interface, so it imports no `node:*` module and no sharp.
 */
import type { RgbImage } from '../image/types.ts';
import type { HubOptions } from '../io/hub.ts';
import type { Model, ModelLoadOptions } from '../runtime/model.ts';

export interface FileStat {
  isFile(): boolean;
  isDirectory(): boolean;
  size: number;
  mtimeMs: number;
}

/** An open file read by position (node's FileHandle fits). */
export interface RandomAccessFile {
  read(target: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  stat(): Promise<FileStat>;
  close(): Promise<void>;
}

/** A sink that an atomic write fills; nothing appears under the final name until it is done. */
export interface WriteSink {
  write(bytes: Uint8Array): Promise<void>;
}

/** File access. Failures reject with errors carrying a `code` ('ENOENT', ...) as node:fs does. */
export interface HostFiles {
  readFile(path: string): Promise<Uint8Array>;
  readTextFile(path: string): Promise<string>;
  stat(path: string): Promise<FileStat>;
  /** The path with links resolved (ONNX Runtime external data must name the real file). */
  realpath(path: string): Promise<string>;
  open(path: string): Promise<RandomAccessFile>;
  writeFileAtomic(path: string, write: (sink: WriteSink) => Promise<void>): Promise<void>;
}

/** The node:path subset the core uses. */
export interface HostPath {
  join(...parts: string[]): string;
  resolve(...parts: string[]): string;
  dirname(p: string): string;
  basename(p: string): string;
  relative(from: string, to: string): string;
  isAbsolute(p: string): boolean;
  normalize(p: string): string;
  readonly sep: string;
}

/** Execution device of the ONNX Runtime sessions: the CPU provider or the WebGPU provider. */
export type Device = 'cpu' | 'webgpu';
export const DEVICES: readonly Device[] = ['cpu', 'webgpu'];
/** What a user may ask for: a device, or `auto` (WebGPU when an adapter exists, else the CPU). */
export type DeviceRequest = Device | 'auto';
export const DEVICE_REQUESTS: readonly DeviceRequest[] = [...DEVICES, 'auto'];

export interface Host {
  readonly name: 'node' | 'browser';
  readonly files: HostFiles;
  readonly path: HostPath;
  /** Hex sha256 of the parts (strings as UTF-8), in order. */
  sha256(parts: readonly (string | Uint8Array)[]): Promise<string>;
  /** Threads ONNX Runtime may use by default. */
  cpuCount(): number;
  /** Encoded image bytes (JPEG, PNG, WebP, GIF, ...) or a file path → RGB pixels. */
  decodeImage(src: string | Uint8Array): Promise<RgbImage>;
  /** A checkpoint folder or hub id → a local checkpoint folder (downloading into the hub cache). */
  resolveModel(dirOrRepo: string, opts?: HubOptions): Promise<string>;
  /** Builds the model's graphs and creates their inference sessions. */
  loadModel(dir: string, opts?: ModelLoadOptions): Promise<Model>;
}
