/**
 * A WeightSource whose tensors live in one converted-weights file (`weights.bin` of a cache entry):
 * as the graphs are built, every tensor they ask for is given a place in that file (its size follows
 * from shape and precision alone), so the graphs are final before any byte is converted. The
 * resulting plan is what weight-cache.ts compares with a cached entry and, if needed, writes.
 *
 * One file for all tensors of a graph because ORT resolves external data against one folder, and the
 * quantized tensors cannot live in the checkpoint's folder (never written to).
 */
import type { Checkpoint } from '../io/checkpoint.ts';
import { fail } from '../errors.ts';
import { dtypeSize, numel } from '../io/safetensors.ts';
import { checkShape, type ChannelQuantizedLinearRef, type LinearInput, type QuantizedLinearRef, type WeightRef, type WeightSource } from '../model/weights.ts';
import { linearBits, type LinearForm, type Precision, type QuantPolicy } from './precision.ts';
import { hadamardBlock, quantBlocks, type QuantBits } from './quantize.ts';

export const WEIGHTS_FILE = 'weights.bin';

/** Byte ranges start on 64-byte boundaries (cache lines; the vector loads of ORT's kernels). */
const ALIGN = 64;

export type PlanEntry =
  /** The checkpoint tensor's bytes as stored (norms, biases, embeddings, convolution). */
  | { kind: 'copy'; name: string; dtype: string; shape: number[]; offset: number; length: number }
  /** A float tensor stored as float16. */
  | { kind: 'f16'; name: string; shape: number[]; offset: number; length: number }
  /** A linear weight [n, k] as int8 per output channel (DynamicQuantizeMatMul): codes [k, n], then float32 scales [n]. */
  | { kind: 'qchannels'; name: string; n: number; k: number; weightsOffset: number; weightsLength: number; scalesOffset: number; scalesLength: number; rotate?: number }
  /** A linear weight [n, k] as MatMulNBits blocks: packed codes, then float32 scales. */
  | {
      kind: 'quant'; name: string; bits: QuantBits; blockSize: number; n: number; k: number;
      packedOffset: number; packedLength: number; scalesOffset: number; scalesLength: number;
    };

/** How a linear of `form` fed by `input` quantizes its activations (precision.ts), or null for MatMulNBits blocks. */
function channelActivations(form: LinearForm, input: LinearInput): ChannelQuantizedLinearRef['activations'] | null {
  switch (form) {
    case 'blocks': return null;
    case 'channels': return 'tensor';
    case 'rows': return 'rows';
    case 'normed-channels': return input === 'normed' ? 'tensor' : null;
    case 'normed-channels-rows':
    case 'normed-channels-rotated': return input === 'normed' ? 'tensor' : 'rows';
  }
}

export class ConvertedWeightSource implements WeightSource {
  private readonly entries = new Map<string, PlanEntry>();
  private size = 0;

  constructor(
    private readonly ckpt: Checkpoint,
    readonly precision: Precision,
    readonly policy: QuantPolicy,
    /** The cache entry's folder (ORT's external-data folder). */
    readonly externalFolder: string,
    /** The LLM output matrix (lm_head, or the tied embedding): quantized with `policy.lmHeadBits`. */
    private readonly lmHead: string,
  ) {
    if (precision === 'fp32') throw new Error('ConvertedWeightSource: fp32 reads the checkpoint in place');
  }

  /** The plan in file order, and the file's size. */
  plan(): { entries: PlanEntry[]; size: number } {
    return { entries: [...this.entries.values()], size: this.size };
  }

  private place(length: number): number {
    const offset = Math.ceil(this.size / ALIGN) * ALIGN;
    this.size = offset + length;
    return offset;
  }

  ref(name: string): WeightRef {
    const info = this.ckpt.tensor(name);
    const key = `ref:${name}`;
    let e = this.entries.get(key);
    if (!e) {
      if (this.precision === 'fp16' && info.dtype !== 'F16') {
        if (info.dtype !== 'BF16' && info.dtype !== 'F32') fail(`${this.ckpt.dir}: tensor '${name}' has dtype ${info.dtype}; expected BF16, F16 or F32`);
        const length = numel(info.shape) * 2;
        e = { kind: 'f16', name, shape: info.shape, offset: this.place(length), length };
      } else {
        const length = numel(info.shape) * dtypeSize(info.dtype);
        e = { kind: 'copy', name, dtype: info.dtype, shape: info.shape, offset: this.place(length), length };
      }
      this.entries.set(key, e);
    }
    if (e.kind === 'quant' || e.kind === 'qchannels') throw new Error('unreachable');
    const dtype = e.kind === 'f16' ? 'F16' : e.dtype;
    return { name, dtype, shape: info.shape, data: { kind: 'external', location: WEIGHTS_FILE, offset: e.offset, length: e.length } };
  }

  quantized(name: string, shape: readonly [number, number], input: LinearInput = 'other'): QuantizedLinearRef | ChannelQuantizedLinearRef | null {
    const bits = name === this.lmHead ? this.policy.lmHeadBits : linearBits(this.precision);
    if (bits === null) return null;
    checkShape(name, this.ckpt.tensor(name).shape, shape);
    const vision = name.startsWith('vision_model.') || name.startsWith('mlp1.');
    const form = vision ? this.policy.visionForm : this.policy.llmForm;
    const activations = name === this.lmHead ? null : channelActivations(form, input);
    if (activations) {
      // normed-channels-rotated: its rows linears' inputs and weight columns rotated in Hadamard blocks
      const rotate = form === 'normed-channels-rotated' && activations === 'rows' ? hadamardBlock(shape[1]) : null;
      return this.channels(name, shape, activations, rotate ?? undefined);
    }
    const key = `quant:${name}`;
    let e = this.entries.get(key);
    if (!e) {
      const [n, k] = shape;
      const blocks = quantBlocks(k, this.policy.blockSize);
      const packedLength = n * blocks * ((this.policy.blockSize * bits) / 8);
      const packedOffset = this.place(packedLength);
      const scalesLength = n * blocks * 4;
      const scalesOffset = this.place(scalesLength);
      e = { kind: 'quant', name, bits, blockSize: this.policy.blockSize, n, k, packedOffset, packedLength, scalesOffset, scalesLength };
      this.entries.set(key, e);
    }
    if (e.kind !== 'quant') throw new Error('unreachable');
    return {
      form: 'blocks', bits: e.bits, blockSize: e.blockSize, n: e.n, k: e.k,
      packed: { kind: 'external', location: WEIGHTS_FILE, offset: e.packedOffset, length: e.packedLength },
      scales: { kind: 'external', location: WEIGHTS_FILE, offset: e.scalesOffset, length: e.scalesLength },
    };
  }

  private channels(name: string, [n, k]: readonly [number, number], activations: ChannelQuantizedLinearRef['activations'], rotate?: number): ChannelQuantizedLinearRef {
    const key = `qchannels:${name}`;
    let e = this.entries.get(key);
    if (!e) {
      const weightsOffset = this.place(n * k);
      const scalesOffset = this.place(n * 4);
      e = { kind: 'qchannels', name, n, k, weightsOffset, weightsLength: n * k, scalesOffset, scalesLength: n * 4, ...(rotate ? { rotate } : {}) };
      this.entries.set(key, e);
    }
    if (e.kind !== 'qchannels') throw new Error('unreachable');
    return {
      form: 'channels', activations, n: e.n, k: e.k, ...(e.rotate ? { rotate: e.rotate } : {}),
      weights: { kind: 'external', location: WEIGHTS_FILE, offset: e.weightsOffset, length: e.weightsLength },
      scales: { kind: 'external', location: WEIGHTS_FILE, offset: e.scalesOffset, length: e.scalesLength },
    };
  }
}
