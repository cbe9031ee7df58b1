/**
 * Demo and test-fixture builder: a checkpoint folder in the released format (config.json, bf16
 * safetensors — sharded with model.safetensors.index.json where the released one is — and tokenizer
 * files) filled with small random weights. The tokenizer is a copy of `tokenizerDir` (tests pass the
 * real one) or, by default, a generated one in the released Qwen2 layout (demo-tokenizer.ts), so nothing
 * outside the package is needed. `tiny` shrinks the dimensions like the golden tiny models but keeps the
 * real vocabulary size, so real tokenizer ids stay valid. Deterministic for a seed: every tensor's
 * values depend only on the seed and its name.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fail } from '../errors.ts';
import { writeFileAtomic, writeFully } from '../io/atomic-write.ts';
import { f32ToBf16 } from '../io/dtype.ts';
import { numel, prepareSafetensors, writeSafetensors, type TensorToWrite } from '../io/safetensors.ts';
import { parseModelConfig } from '../model/config.ts';
import { releasedConfig } from '../model/released-configs.ts';
import { demoTokenizerFiles } from './demo-tokenizer.ts';
import { expectedTensors, type ExpectedTensor } from '../model/inventory.ts';
import { Xoshiro128 } from '../generate/sampling.ts';

/**
 * The checkpoints this can imitate (released-configs.ts): name → the released checkpoint whose tokenizer
 * it uses (the V1.5 models share InternVL2-2B's/4B's) and its released shard count.
 */
export const LIKE: Readonly<Record<string, { tokenizer: string; shards: number }>> = {
  'internvl2-1b': { tokenizer: 'internvl2-1b', shards: 1 },
  'internvl2-2b': { tokenizer: 'internvl2-2b', shards: 1 },
  'internvl2-4b': { tokenizer: 'internvl2-4b', shards: 2 },
  'mini-internvl-chat-2b-v1-5': { tokenizer: 'internvl2-2b', shards: 1 },
  'mini-internvl-chat-4b-v1-5': { tokenizer: 'internvl2-4b', shards: 2 },
};

/** transformers' default max_shard_size ("5GB"): gives the released 4B its 4.96 GB + 3.34 GB shards. */
export const RELEASED_MAX_SHARD_BYTES = 5_000_000_000;

export interface RandomCheckpointOptions {
  like: string;
  tiny?: boolean;
  seed?: number;
  out: string;
  /** Shard size cap. Default: one file where the release has one; 5 GB (tiny: ~60% of the total) where it is sharded. */
  maxShardBytes?: number;
  /** Shards above this many bytes are streamed to disk in chunks instead of built in memory. Default 256 MiB. */
  streamAboveBytes?: number;
  /** Folder whose tokenizer files are copied (e.g. a released checkpoint's); default: a generated tokenizer. */
  tokenizerDir?: string;
  /** Progress lines for big writes (default none). */
  log?: { write(s: string): unknown } | null;
  /** Stops the write (e.g. on Ctrl-C); the temporary folder is removed and `out` stays untouched. */
  signal?: AbortSignal;
}

export interface RandomCheckpointResult {
  dir: string;
  /** Files written, relative to `dir`. */
  files: string[];
  tensors: number;
  params: number;
  /** Sum of tensor bytes (the index's total_size). */
  tensorBytes: number;
}

// ---------------------------------------------------------------------------------------------
// Config

/** Dimensions of the golden tiny models (golden/README.md): ViT 2×64 (4 heads), LLM 2×64 (4 heads), GQA as the family. */
const TINY_KV_HEADS: Record<string, number> = { Qwen2ForCausalLM: 2, InternLM2ForCausalLM: 2, Phi3ForCausalLM: 4 };

/** The released config of `like` (a copy), shrunk when `tiny`. */
export async function randomCheckpointConfig(like: string, tiny: boolean): Promise<Record<string, unknown>> {
  const cfg = (LIKE[like] && releasedConfig(like)) ?? fail(`random checkpoint: unknown --like '${like}' (one of ${Object.keys(LIKE).join(', ')})`);
  if (!tiny) return cfg;
  Object.assign(cfg.vision_config, { hidden_size: 64, num_attention_heads: 4, intermediate_size: 128, num_hidden_layers: 2 });
  const llm = cfg.llm_config;
  const arch = llm.architectures?.[0];
  Object.assign(llm, {
    hidden_size: 64,
    intermediate_size: 160,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: TINY_KV_HEADS[arch] ?? 4,
  });
  if ('head_dim' in llm) llm.head_dim = 16;
  if ('max_window_layers' in llm) llm.max_window_layers = 2;
  const rs = llm.rope_scaling;
  if (rs && Array.isArray(rs.short_factor) && Array.isArray(rs.long_factor)) {
    // longrope needs head_dim/2 = 8 factors per list: subsample the released 48, keeping their range.
    const sub = (a: number[]) => Array.from({ length: 8 }, (_, i) => a[Math.floor((i * a.length) / 8)]);
    rs.short_factor = sub(rs.short_factor);
    rs.long_factor = sub(rs.long_factor);
  }
  return cfg;
}

// ---------------------------------------------------------------------------------------------
// Values

type Kind = 'weight' | 'norm' | 'layerScale';

/** Norm weights ≈ 1, layer scales ≈ 0.1, everything else N(0, 0.02) (the released init range). */
export function valueKind(name: string): Kind {
  if (/\.ls[12]$/.test(name)) return 'layerScale';
  if (/(norm[12]?|layernorm|_norm|ffn_norm|attention_norm)\.weight$/.test(name) || name === 'mlp1.0.weight') return 'norm';
  return 'weight';
}

/**
 * bf16 bit patterns of 65536 normal samples per kind: a value is one table lookup per 16 random bits,
 * so a 0.94B-parameter checkpoint takes seconds, not minutes (Box–Muller per value would dominate).
 */
const TABLES = new Map<Kind, Uint16Array>();
function table(kind: Kind): Uint16Array {
  let t = TABLES.get(kind);
  if (t) return t;
  const [mean, std] = kind === 'norm' ? [1, 0.02] : kind === 'layerScale' ? [0.1, 0.002] : [0, 0.02];
  const rng = new Xoshiro128(0x5eed);
  const f = new Float32Array(65536);
  for (let i = 0; i < f.length; i += 2) {
    const u = 1 - rng.nextFloat();
    const v = rng.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u));
    f[i] = mean + std * r * Math.cos(2 * Math.PI * v);
    f[i + 1] = mean + std * r * Math.sin(2 * Math.PI * v);
  }
  t = f32ToBf16(f);
  TABLES.set(kind, t);
  return t;
}

/** FNV-1a of the name, so each tensor has its own stream whatever the write order or sharding. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(name, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** Fills bf16 chunks of one tensor in order; chunks must have even lengths except the last. */
class TensorValues {
  private rng: Xoshiro128;
  private t: Uint16Array;
  constructor(name: string, seed: number) {
    this.rng = new Xoshiro128(seed, nameHash(name));
    this.t = table(valueKind(name));
  }
  fill(out: Uint16Array): void {
    const { t, rng } = this;
    const n = out.length;
    let i = 0;
    for (; i + 1 < n; i += 2) {
      const r = rng.nextUint32();
      out[i] = t[r & 0xffff];
      out[i + 1] = t[r >>> 16];
    }
    if (i < n) out[i] = t[rng.nextUint32() & 0xffff];
  }
}

/** The tied output matrix (1B: tie_word_embeddings) gets the embedding's values. */
const valueSource = (e: ExpectedTensor) => e.tiedTo ?? e.name;

/** Bytes of a tensor in bf16, and of a list of them. */
const bf16Bytes = (e: ExpectedTensor) => numel(e.shape) * 2;
const totalBf16Bytes = (list: ExpectedTensor[]) => list.reduce((a, e) => a + bf16Bytes(e), 0);

// ---------------------------------------------------------------------------------------------
// Writing

/** Greedy packing in inventory order, as transformers' shard_checkpoint does. */
function planShards(tensors: ExpectedTensor[], maxShardBytes: number): ExpectedTensor[][] {
  const shards: ExpectedTensor[][] = [[]];
  let size = 0;
  for (const t of tensors) {
    const b = bf16Bytes(t);
    if (size + b > maxShardBytes && shards.at(-1)!.length > 0) {
      shards.push([]);
      size = 0;
    }
    shards.at(-1)!.push(t);
    size += b;
  }
  return shards;
}

const CHUNK_ELEMS = 1 << 22; // 8 MiB of bf16 per write

/** Small shards: values in memory, written by the io module's writer. */
async function writeShardInMemory(path: string, tensors: ExpectedTensor[], seed: number): Promise<void> {
  const items: TensorToWrite[] = tensors.map((e) => {
    const data = new Uint16Array(numel(e.shape));
    new TensorValues(valueSource(e), seed).fill(data);
    return { name: e.name, dtype: 'BF16', shape: e.shape, data };
  });
  await writeSafetensors(path, items, { format: 'pt' });
}

/**
 * Big shards: the header comes from the io module's layout code (fed zero-filled views that are never
 * touched, so no memory is committed), then each tensor is generated and written chunk by chunk.
 * Atomic like writeSafetensors (writeFileAtomic).
 */
async function writeShardStreaming(
  path: string,
  tensors: ExpectedTensor[],
  seed: number,
  log: RandomCheckpointOptions['log'],
  signal: AbortSignal | undefined,
): Promise<void> {
  const maxBytes = Math.max(...tensors.map(bf16Bytes));
  const zeros = new Uint8Array(maxBytes);
  const { head } = prepareSafetensors(
    tensors.map((e) => ({ name: e.name, dtype: 'BF16', shape: e.shape, data: zeros.subarray(0, bf16Bytes(e)) })),
    { format: 'pt' },
    path,
  );
  const headerLen = Number(new DataView(head.buffer, head.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(head.subarray(8, 8 + headerLen)).toString('utf8')) as Record<string, { data_offsets?: [number, number] }>;
  const byName = new Map(tensors.map((e) => [e.name, e]));
  const order = Object.entries(header)
    .filter(([k]) => k !== '__metadata__')
    .sort((a, b) => a[1].data_offsets![0] - b[1].data_offsets![0])
    .map(([k]) => byName.get(k)!);

  await writeFileAtomic(path, async (fh) => {
    await writeFully(fh, head);
    const chunk = new Uint16Array(CHUNK_ELEMS);
    const total = totalBf16Bytes(order);
    let written = 0;
    let nextReport = 0.25;
    for (const e of order) {
      const values = new TensorValues(valueSource(e), seed);
      let left = numel(e.shape);
      while (left > 0) {
        if (signal?.aborted) fail(`random checkpoint: interrupted while writing ${basename(path)}; nothing was left behind`);
        const part = chunk.subarray(0, Math.min(left, CHUNK_ELEMS));
        values.fill(part);
        await writeFully(fh, new Uint8Array(part.buffer, 0, part.byteLength));
        left -= part.length;
        written += part.byteLength;
      }
      if (log && written / total >= nextReport) {
        log.write(`minivl: ${basename(path)} ${Math.floor((written / total) * 100)}% written\n`);
        while (written / total >= nextReport) nextReport += 0.25;
      }
    }
  });
}

/** transformers writes the index with sort_keys=True, indent=2. */
function indexJson(shards: ExpectedTensor[][], names: string[], tensorBytes: number): string {
  const map: Record<string, string> = {};
  const entries: [string, string][] = [];
  shards.forEach((s, i) => s.forEach((e) => entries.push([e.name, names[i]])));
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [k, v] of entries) map[k] = v;
  return `${JSON.stringify({ metadata: { total_size: tensorBytes }, weight_map: map }, null, 2)}\n`;
}

async function assertWritableOut(out: string): Promise<void> {
  if (!existsSync(out)) return;
  const st = await stat(out);
  if (!st.isDirectory()) fail(`random checkpoint: --out ${out} exists and is not a folder; refusing to overwrite it`);
  if ((await readdir(out)).length > 0) fail(`random checkpoint: --out ${out} is not empty; refusing to overwrite it`);
}

/**
 * Writes the checkpoint into `out` (which must not exist or be empty). Everything is built in a sibling
 * temporary folder and renamed into place at the end, so a failure leaves nothing behind.
 */
export async function writeRandomCheckpoint(opts: RandomCheckpointOptions): Promise<RandomCheckpointResult> {
  const like = opts.like;
  const info = LIKE[like] ?? fail(`random checkpoint: unknown --like '${like}' (one of ${Object.keys(LIKE).join(', ')})`);
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) fail(`random checkpoint: --seed must be an integer in 0..4294967295, got ${opts.seed}`);
  const out = resolve(opts.out);
  await assertWritableOut(out);
  const tokDir = opts.tokenizerDir === undefined ? null : resolve(opts.tokenizerDir);
  if (tokDir !== null && !existsSync(tokDir)) fail(`random checkpoint: tokenizer folder ${tokDir} not found`);

  const configJson = await randomCheckpointConfig(like, opts.tiny ?? false);
  const cfg = parseModelConfig(configJson, `${like} fixture config${opts.tiny ? ' (tiny)' : ''}`);
  const tensors = expectedTensors(cfg);
  const tensorBytes = totalBf16Bytes(tensors);
  const maxShard =
    opts.maxShardBytes ??
    (info.shards === 1 ? Infinity : opts.tiny ? Math.ceil(tensorBytes * 0.6) : RELEASED_MAX_SHARD_BYTES);
  const shards = planShards(tensors, maxShard);
  const streamAbove = opts.streamAboveBytes ?? 256 * 1024 * 1024;

  await mkdir(dirname(out), { recursive: true });
  const tmp = `${out}.partial-${process.pid}-${randomBytes(3).toString('hex')}`;
  await mkdir(tmp);
  try {
    const files: string[] = ['config.json'];
    await writeFile(join(tmp, 'config.json'), `${JSON.stringify(configJson, null, 2)}\n`);
    const names =
      shards.length === 1
        ? ['model.safetensors']
        : shards.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`);
    for (let i = 0; i < shards.length; i++) {
      if (opts.signal?.aborted) fail('random checkpoint: interrupted; nothing was left behind');
      const bytes = totalBf16Bytes(shards[i]);
      const path = join(tmp, names[i]);
      if (bytes > streamAbove) await writeShardStreaming(path, shards[i], seed, opts.log, opts.signal);
      else await writeShardInMemory(path, shards[i], seed);
      files.push(names[i]);
    }
    if (shards.length > 1) {
      await writeFile(join(tmp, 'model.safetensors.index.json'), indexJson(shards, names, tensorBytes));
      files.push('model.safetensors.index.json');
    }
    if (tokDir !== null) {
      for (const f of (await readdir(tokDir)).sort()) {
        await copyFile(join(tokDir, f), join(tmp, f));
        await chmod(join(tmp, f), 0o644); // the source may be read-only; the copy is the user's
        files.push(f);
      }
    } else {
      const tok = demoTokenizerFiles(cfg.llm.vocabSize);
      for (const [f, text] of Object.entries(tok.files).sort()) {
        await writeFile(join(tmp, f), text);
        files.push(f);
      }
    }
    if (existsSync(out)) await rmdir(out); // empty (checked above)
    await rename(tmp, out);
    return {
      dir: out,
      files,
      tensors: tensors.length,
      params: tensors.reduce((a, e) => a + numel(e.shape), 0),
      tensorBytes,
    };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
