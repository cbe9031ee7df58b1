/**
 * Writes the LLM of an InternVL checkpoint with a Qwen2 decoder (InternVL2-1B) as a llama.cpp GGUF
 * file (format v3) in f16, q8_0 or q4_0, so llama.cpp runs the SAME random weights as minivl.
 * Written by hand: the only GGUF writers are Python (gguf-py) and C; this needs ~200 lines.
 *
 * Layout (ggml/docs/gguf.md): magic "GGUF", version 3, tensor count u64, metadata count u64, metadata
 * key/values, tensor infos (name, n_dims, dims innermost first, ggml type, offset), padding to
 * `general.alignment` (32), tensor data (each tensor aligned to 32).
 * Quantization as ggml's reference rows: q8_0 = per 32 values f16 d = amax/127 and int8 round(x/d);
 * q4_0 = f16 d = max/−8 (the value of largest magnitude), codes min(15, trunc(x/d + 8.5)), byte j of
 * a block holding codes j (low nibble) and j+16 (high nibble).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Checkpoint } from '../../src/io/checkpoint.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { f32ToF16 } from '../../src/io/dtype.ts';
import { writeFileAtomic, writeFully } from '../../src/io/atomic-write.ts';

export type GgufType = 'f16' | 'q8_0' | 'q4_0';
const GGML_TYPE = { f32: 0, f16: 1, q4_0: 2, q8_0: 8 } as const;
type TensorType = keyof typeof GGML_TYPE;
const ALIGN = 32;

/** Bytes of `n` values (n a multiple of 32 for the block types). */
function typeBytes(t: TensorType, n: number): number {
  switch (t) {
    case 'f32': return n * 4;
    case 'f16': return n * 2;
    case 'q8_0': return (n / 32) * 34;
    case 'q4_0': return (n / 32) * 18;
  }
}

function encodeTensor(t: TensorType, x: Float32Array): Uint8Array {
  if (t === 'f32') return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  if (t === 'f16') { const h = f32ToF16(x); return new Uint8Array(h.buffer, h.byteOffset, h.byteLength); }
  const blocks = x.length / 32;
  const out = new Uint8Array(typeBytes(t, x.length));
  const dv = new DataView(out.buffer);
  const half = new Float32Array(1);
  const half16 = new Uint16Array(1);
  for (let b = 0; b < blocks; b++) {
    const o = b * (t === 'q8_0' ? 34 : 18);
    const s = b * 32;
    let amax = 0;
    let vmax = 0;
    for (let i = 0; i < 32; i++) {
      const v = x[s + i]!;
      if (Math.abs(v) > amax) { amax = Math.abs(v); vmax = v; }
    }
    const d = t === 'q8_0' ? amax / 127 : vmax / -8;
    const id = d ? 1 / d : 0;
    half[0] = d;
    dv.setUint16(o, f32ToF16(half, half16)[0]!, true);
    if (t === 'q8_0') {
      for (let i = 0; i < 32; i++) dv.setInt8(o + 2 + i, Math.round(x[s + i]! * id));
    } else {
      for (let j = 0; j < 16; j++) {
        const lo = Math.min(15, Math.trunc(x[s + j]! * id + 8.5));
        const hi = Math.min(15, Math.trunc(x[s + 16 + j]! * id + 8.5));
        out[o + 2 + j] = lo | (hi << 4);
      }
    }
  }
  return out;
}

/** Little-endian GGUF metadata/tensor-info serializer. */
class Enc {
  private parts: Uint8Array[] = [];
  size = 0;
  private push(b: Uint8Array) { this.parts.push(b); this.size += b.byteLength; }
  u32(v: number) { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); this.push(b); }
  i32(v: number) { const b = new Uint8Array(4); new DataView(b.buffer).setInt32(0, v, true); this.push(b); }
  u64(v: number) { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v), true); this.push(b); }
  f32(v: number) { const b = new Uint8Array(4); new DataView(b.buffer).setFloat32(0, v, true); this.push(b); }
  str(s: string) { const b = new TextEncoder().encode(s); this.u64(b.byteLength); this.push(b); }
  raw(b: Uint8Array) { this.push(b); }
  bytes(): Uint8Array { const out = new Uint8Array(this.size); let o = 0; for (const p of this.parts) { out.set(p, o); o += p.byteLength; } return out; }
}

type Meta = { key: string; type: 'u32' | 'f32' | 'str' | 'strs' | 'i32s'; value: unknown };

function encodeMeta(e: Enc, m: Meta) {
  e.str(m.key);
  switch (m.type) {
    case 'u32': e.u32(4); e.u32(m.value as number); break;
    case 'f32': e.u32(6); e.f32(m.value as number); break;
    case 'str': e.u32(8); e.str(m.value as string); break;
    case 'strs': { const a = m.value as string[]; e.u32(9); e.u32(8); e.u64(a.length); for (const s of a) e.str(s); break; }
    case 'i32s': { const a = m.value as number[]; e.u32(9); e.u32(5); e.u64(a.length); for (const v of a) e.i32(v); break; }
  }
}

/** Qwen2 vocabulary for GGUF (gpt2 BPE): tokens by id, types (1 normal, 3 control), merges. */
function qwen2Vocab(dir: string, vocabSize: number) {
  const vocab = JSON.parse(readFileSync(join(dir, 'vocab.json'), 'utf8')) as Record<string, number>;
  const added = JSON.parse(readFileSync(join(dir, 'added_tokens.json'), 'utf8')) as Record<string, number>;
  const tokens: string[] = new Array(vocabSize);
  const types: number[] = new Array(vocabSize).fill(1);
  for (const [t, id] of Object.entries(vocab)) if (id < vocabSize) tokens[id] = t;
  for (const [t, id] of Object.entries(added)) if (id < vocabSize) { tokens[id] = t; types[id] = 3; }
  for (let i = 0; i < vocabSize; i++) if (tokens[i] === undefined) { tokens[i] = `[PAD${i}]`; types[i] = 4; }
  const merges = readFileSync(join(dir, 'merges.txt'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#version'));
  return { tokens, types, merges };
}

export async function writeQwen2Gguf(ckpt: Checkpoint, cfg: ModelConfig, type: GgufType, out: string): Promise<{ bytes: number; weightBytesPerToken: number }> {
  const l = cfg.llm;
  if (l.family !== 'qwen2') throw new Error(`GGUF writer: only Qwen2 decoders (InternVL2-1B), not ${l.family}`);
  const P = 'language_model.model.';
  const head = ckpt.has('language_model.lm_head.weight') ? 'language_model.lm_head.weight' : `${P}embed_tokens.weight`;
  // Matrices in `type`; the output matrix at q8_0 under q4_0 (as minivl int4 keeps its head at 8 bits); vectors f32.
  const tensors: { name: string; src: string; dims: number[]; t: TensorType }[] = [
    { name: 'token_embd.weight', src: `${P}embed_tokens.weight`, dims: [l.hiddenSize, l.vocabSize], t: type },
    { name: 'output_norm.weight', src: `${P}norm.weight`, dims: [l.hiddenSize], t: 'f32' },
    { name: 'output.weight', src: head, dims: [l.hiddenSize, l.vocabSize], t: type === 'q4_0' ? 'q8_0' : type },
  ];
  const kvDim = l.numKvHeads * l.headDim;
  for (let i = 0; i < l.numLayers; i++) {
    const p = `${P}layers.${i}.`;
    const b = `blk.${i}.`;
    const H = l.hiddenSize;
    tensors.push(
      { name: `${b}attn_norm.weight`, src: `${p}input_layernorm.weight`, dims: [H], t: 'f32' },
      { name: `${b}attn_q.weight`, src: `${p}self_attn.q_proj.weight`, dims: [H, l.numHeads * l.headDim], t: type },
      { name: `${b}attn_q.bias`, src: `${p}self_attn.q_proj.bias`, dims: [l.numHeads * l.headDim], t: 'f32' },
      { name: `${b}attn_k.weight`, src: `${p}self_attn.k_proj.weight`, dims: [H, kvDim], t: type },
      { name: `${b}attn_k.bias`, src: `${p}self_attn.k_proj.bias`, dims: [kvDim], t: 'f32' },
      { name: `${b}attn_v.weight`, src: `${p}self_attn.v_proj.weight`, dims: [H, kvDim], t: type },
      { name: `${b}attn_v.bias`, src: `${p}self_attn.v_proj.bias`, dims: [kvDim], t: 'f32' },
      { name: `${b}attn_output.weight`, src: `${p}self_attn.o_proj.weight`, dims: [l.numHeads * l.headDim, H], t: type },
      { name: `${b}ffn_norm.weight`, src: `${p}post_attention_layernorm.weight`, dims: [H], t: 'f32' },
      { name: `${b}ffn_gate.weight`, src: `${p}mlp.gate_proj.weight`, dims: [H, l.intermediateSize], t: type },
      { name: `${b}ffn_up.weight`, src: `${p}mlp.up_proj.weight`, dims: [H, l.intermediateSize], t: type },
      { name: `${b}ffn_down.weight`, src: `${p}mlp.down_proj.weight`, dims: [l.intermediateSize, H], t: type },
    );
  }
  const { tokens, types, merges } = qwen2Vocab(ckpt.dir, l.vocabSize);
  const meta: Meta[] = [
    { key: 'general.architecture', type: 'str', value: 'qwen2' },
    { key: 'general.name', type: 'str', value: 'minivl random InternVL2-1B LLM' },
    { key: 'general.alignment', type: 'u32', value: ALIGN },
    { key: 'qwen2.block_count', type: 'u32', value: l.numLayers },
    { key: 'qwen2.context_length', type: 'u32', value: l.maxPositionEmbeddings },
    { key: 'qwen2.embedding_length', type: 'u32', value: l.hiddenSize },
    { key: 'qwen2.feed_forward_length', type: 'u32', value: l.intermediateSize },
    { key: 'qwen2.attention.head_count', type: 'u32', value: l.numHeads },
    { key: 'qwen2.attention.head_count_kv', type: 'u32', value: l.numKvHeads },
    { key: 'qwen2.rope.freq_base', type: 'f32', value: l.ropeTheta },
    { key: 'qwen2.attention.layer_norm_rms_epsilon', type: 'f32', value: l.rmsNormEps },
    { key: 'tokenizer.ggml.model', type: 'str', value: 'gpt2' },
    { key: 'tokenizer.ggml.pre', type: 'str', value: 'qwen2' },
    { key: 'tokenizer.ggml.tokens', type: 'strs', value: tokens },
    { key: 'tokenizer.ggml.token_type', type: 'i32s', value: types },
    { key: 'tokenizer.ggml.merges', type: 'strs', value: merges },
    { key: 'tokenizer.ggml.bos_token_id', type: 'u32', value: 151643 },
    { key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: 151645 },
    { key: 'tokenizer.ggml.padding_token_id', type: 'u32', value: 151643 },
  ];
  const e = new Enc();
  e.raw(new TextEncoder().encode('GGUF'));
  e.u32(3);
  e.u64(tensors.length);
  e.u64(meta.length);
  for (const m of meta) encodeMeta(e, m);
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    offset = Math.ceil(offset / ALIGN) * ALIGN;
    offsets.push(offset);
    e.str(t.name);
    e.u32(t.dims.length);
    for (const d of t.dims) e.u64(d);
    e.u32(GGML_TYPE[t.t]);
    e.u64(offset);
    offset += typeBytes(t.t, t.dims.reduce((a, b) => a * b, 1));
  }
  const header = e.bytes();
  const dataStart = Math.ceil(header.byteLength / ALIGN) * ALIGN;
  // Bytes a decode step reads: every matrix except the embedding table (only one row is gathered).
  let perToken = 0;
  await writeFileAtomic(out, async (fh) => {
    await writeFully(fh, header, 0);
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i]!;
      const bytes = encodeTensor(t.t, await ckpt.readFloat32(t.src));
      if (t.name !== 'token_embd.weight') perToken += bytes.byteLength;
      await writeFully(fh, bytes, dataStart + offsets[i]!);
    }
  });
  return { bytes: dataStart + offset, weightBytesPerToken: perToken };
}

