/**
 * What `src/runtime/converted-weights.ts` becomes in the page (web/build.mjs maps it here): the int4
 * weights of a checkpoint, planned while the graphs are built, in several converted files of at most
 * FILE_LIMIT bytes each — so no ArrayBuffer in the tab exceeds 1 GiB (the 4B model in int4 is ~2.3 GB)
 * and onnxruntime-web gets them as external data, one file per entry (web/ort.ts). Linear weights are
 * MatMulNBits blocks (the Node engine's quantizer, src/runtime/quantize.ts); every other tensor is
 * widened to float32 (onnxruntime-web has no bf16 Cast kernel, see web/convert.ts).
 */
import type { Checkpoint } from '../src/io/checkpoint.ts';
import { fail } from '../src/errors.ts';
import { numel } from '../src/io/safetensors.ts';
import { checkShape, type QuantizedLinearRef, type WeightRef, type WeightSource } from '../src/model/weights.ts';
import { linearBits, type Precision, type QuantPolicy } from '../src/runtime/precision.ts';
import { quantBlocks, type QuantBits } from '../src/runtime/quantize.ts';

/** Bytes per converted file (a tensor never straddles two). */
export const FILE_LIMIT = 1 << 30;
const ALIGN = 64;

export type PlanEntry =
  | { kind: 'f32'; name: string; file: number; offset: number; length: number }
  | { kind: 'quant'; name: string; bits: QuantBits; blockSize: number; n: number; k: number; file: number; packedOffset: number; packedLength: number; scalesOffset: number; scalesLength: number };

export const fileName = (i: number) => `weights-${i}.bin`;

export class ConvertedWeightSource implements WeightSource {
  private readonly entries = new Map<string, PlanEntry>();
  /** Size of each file so far. */
  private readonly sizes: number[] = [0];

  constructor(
    private readonly ckpt: Checkpoint,
    readonly precision: Precision,
    readonly policy: QuantPolicy,
    /** A name for ORT's external-data folder (the files themselves live in memory, web/ort.ts). */
    readonly externalFolder: string,
    private readonly lmHead: string,
  ) {
    if (precision !== 'int4') fail(`the page runs fp32 or int4 checkpoints (got ${precision})`);
  }

  plan(): { entries: PlanEntry[]; sizes: number[] } {
    return { entries: [...this.entries.values()], sizes: [...this.sizes] };
  }

  /** Room for `length` bytes: in the last file, or a new one when it would pass FILE_LIMIT. */
  private place(length: number, file = this.sizes.length - 1): { file: number; offset: number } {
    const offset = Math.ceil(this.sizes[file]! / ALIGN) * ALIGN;
    if (offset + length > FILE_LIMIT && this.sizes[file]! > 0) {
      this.sizes.push(0);
      return this.place(length, file + 1);
    }
    this.sizes[file] = offset + length;
    return { file, offset };
  }

  ref(name: string): WeightRef {
    const info = this.ckpt.tensor(name);
    let e = this.entries.get(`ref:${name}`);
    if (!e) {
      if (!['BF16', 'F16', 'F32'].includes(info.dtype)) fail(`${this.ckpt.dir}: tensor '${name}' has dtype ${info.dtype}; expected BF16, F16 or F32`);
      const length = numel(info.shape) * 4;
      e = { kind: 'f32', name, ...this.place(length), length };
      this.entries.set(`ref:${name}`, e);
    }
    if (e.kind !== 'f32') throw new Error('unreachable');
    return { name, dtype: 'F32', shape: info.shape, data: { kind: 'external', location: fileName(e.file), offset: e.offset, length: e.length } };
  }

  quantized(name: string, shape: readonly [number, number]): QuantizedLinearRef | null {
    const bits = name === this.lmHead ? this.policy.lmHeadBits : linearBits(this.precision);
    if (bits === null) return null;
    checkShape(name, this.ckpt.tensor(name).shape, shape);
    let e = this.entries.get(`quant:${name}`);
    if (!e) {
      const [n, k] = shape;
      const blocks = quantBlocks(k, this.policy.blockSize);
      const packedLength = n * blocks * ((this.policy.blockSize * bits) / 8);
      const scalesLength = n * blocks * 4;
      // Codes and scales in one file, scales right after the codes.
      const at = this.place(packedLength + ALIGN + scalesLength);
      const scalesOffset = Math.ceil((at.offset + packedLength) / ALIGN) * ALIGN;
      e = { kind: 'quant', name, bits: bits as QuantBits, blockSize: this.policy.blockSize, n, k, file: at.file, packedOffset: at.offset, packedLength, scalesOffset, scalesLength };
      this.entries.set(`quant:${name}`, e);
    }
    if (e.kind !== 'quant') throw new Error('unreachable');
    const location = fileName(e.file);
    return {
      form: 'blocks', bits: e.bits, blockSize: e.blockSize, n: e.n, k: e.k,
      packed: { kind: 'external', location, offset: e.packedOffset, length: e.packedLength },
      scales: { kind: 'external', location, offset: e.scalesOffset, length: e.scalesLength },
    };
  }
}
