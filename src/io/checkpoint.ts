/**
 * A Hugging Face checkpoint folder: `config.json` plus either one `model.safetensors` or a sharded
 * set described by `model.safetensors.index.json`. Only headers are read at open time.
 *
 * Paths are resolved to real paths (the HF cache stores `snapshots/<rev>/file -> ../../blobs/<sha>`),
 * because ONNX Runtime external data must name the real file inside the model folder.
 */
import { errnoCode, fail } from '../errors.ts';
import { host } from '../host/platform.ts';
import { SafetensorsFile, isFile, type TensorInfo } from './safetensors.ts';

export const CONFIG_FILE = 'config.json';
export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

export interface Checkpoint {
  /** The folder as given (used in messages). */
  readonly dir: string;
  /** Parsed config.json, unvalidated (see `parseModelConfig`). */
  readonly configJson: unknown;
  /** The safetensors files (one, or the shards in index order). */
  readonly files: SafetensorsFile[];
  /** The index file path when sharded. */
  readonly indexFile: string | null;
  /** Info of a tensor (throws a one-line error naming the checkpoint and the tensor if missing). */
  tensor(name: string): TensorInfo;
  has(name: string): boolean;
  /** All tensor names, in file order (shard by shard). */
  names(): string[];
  /** A float tensor widened to float32. */
  readFloat32(name: string): Promise<Float32Array>;
  /** Raw bytes of a tensor. */
  readBytes(name: string): Promise<Uint8Array>;
  /** Part of a tensor's bytes (see SafetensorsFile.readBytesRange). */
  readBytesRange(name: string, start: number, length: number): Promise<Uint8Array>;
  /** The file holding a tensor. */
  fileOf(name: string): SafetensorsFile;
  /**
   * A cheap identity for caches of converted weights: sha256 over config.json, and per file its
   * name, size, mtime and header. Content edits that keep the header (fine-tuning in place) change
   * the mtime, so they change the fingerprint too; a byte-identical copy elsewhere has another
   * mtime and gets its own cache entry (safe, just not shared).
   */
  fingerprint(): Promise<string>;
}

/** Reads and parses a JSON file; one-line errors name the file (`what` hints at the cause of a missing one). */
async function readJson(path: string, what: string): Promise<{ text: string; json: unknown }> {
  let text: string;
  try {
    text = await host.files.readTextFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail(`${path}: missing${what ? ` (${what})` : ''}`);
    fail(`${path}: cannot read (${errnoCode(e)})`);
  }
  try {
    return { text, json: JSON.parse(text) };
  } catch (e) {
    fail(`${path}: invalid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

/** `dir/config.json`, read and parsed (not validated: see `parseModelConfig`). */
export function readConfigJson(dir: string): Promise<{ text: string; json: unknown }> {
  return readJson(host.path.join(dir, CONFIG_FILE), 'not a checkpoint folder?');
}

/** Opens a checkpoint folder and validates its files' headers and the shard index. */
export async function openCheckpoint(dir: string): Promise<Checkpoint> {
  const { files: fs, path } = host;
  const { join } = path;
  let realDir: string;
  try {
    realDir = await fs.realpath(path.resolve(dir));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail(`${dir}: ${code === 'ENOENT' ? 'no such checkpoint folder' : `cannot open (${errnoCode(e)})`}`);
  }
  if (!(await fs.stat(realDir)).isDirectory()) fail(`${dir}: not a folder (expected a checkpoint folder with config.json)`);

  const { text: configText, json: configJson } = await readConfigJson(dir);

  // Same preference as transformers: a single model.safetensors first, then the index.
  const single = join(dir, SINGLE_FILE);
  const indexPath = join(dir, INDEX_FILE);
  let files: SafetensorsFile[];
  const where = new Map<string, SafetensorsFile>();
  let indexFile: string | null = null;
  if (await isFile(single)) {
    const f = await SafetensorsFile.open(single);
    files = [f];
    for (const n of f.tensors.keys()) where.set(n, f);
  } else if (await isFile(indexPath)) {
    indexFile = indexPath;
    const { json } = await readJson(indexPath, '');
    const map = (json as { weight_map?: unknown } | null)?.weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) fail(`${indexPath}: no "weight_map" object`);
    const shardNames: string[] = [];
    for (const [tensor, shard] of Object.entries(map)) {
      if (typeof shard !== 'string' || shard === '') fail(`${indexPath}: weight_map entry '${tensor}' is not a file name`);
      // Shards live in the folder itself; refuse paths that escape it.
      const norm = path.normalize(shard);
      if (path.isAbsolute(shard) || norm === '..' || norm.startsWith(`..${path.sep}`)) {
        fail(`${indexPath}: shard '${shard}' of tensor '${tensor}' is outside the checkpoint folder`);
      }
      if (!shardNames.includes(shard)) shardNames.push(shard);
    }
    if (shardNames.length === 0) fail(`${indexPath}: weight_map is empty`);
    files = [];
    const byShard = new Map<string, SafetensorsFile>();
    for (const shard of shardNames) {
      const p = join(dir, shard);
      if (!(await isFile(p))) fail(`${indexPath}: shard '${shard}' is missing (${p})`);
      const f = await SafetensorsFile.open(p);
      byShard.set(shard, f);
      files.push(f);
    }
    for (const [tensor, shard] of Object.entries(map as Record<string, string>)) {
      const f = byShard.get(shard)!;
      if (!f.has(tensor)) fail(`${indexPath}: tensor '${tensor}' is mapped to shard '${shard}', which does not contain it`);
      where.set(tensor, f);
    }
  } else {
    fail(`${dir}: no ${SINGLE_FILE} or ${INDEX_FILE} in the checkpoint folder`);
  }

  const fileOf = (name: string): SafetensorsFile =>
    where.get(name) ?? fail(`${dir}: checkpoint has no tensor '${name}'`);

  return {
    dir,
    configJson,
    files,
    indexFile,
    tensor: (name) => fileOf(name).info(name),
    has: (name) => where.has(name),
    names: () => [...where.keys()],
    // async so that a missing tensor is a rejected promise, not a synchronous throw.
    readFloat32: async (name) => fileOf(name).readFloat32(name),
    readBytes: async (name) => fileOf(name).readBytes(name),
    readBytesRange: async (name, start, length) => fileOf(name).readBytesRange(name, start, length),
    fileOf,
    async fingerprint() {
      const parts: string[] = [configText];
      for (const f of files) {
        const st = await fs.stat(f.path);
        parts.push(`\0${path.basename(f.path)}\0${st.size}\0${st.mtimeMs}\0`);
        // The header fully describes names, dtypes, shapes and offsets.
        parts.push(JSON.stringify([...f.tensors.values()].map((t) => [t.name, t.dtype, t.shape, t.offset])));
      }
      return host.sha256(parts);
    },
  };
}
