/**
 * Token embeddings read row by row from the checkpoint file, for the reduced precisions: an ORT
 * Gather session holds the whole table in memory (the 1B's bf16 table is 272 MB of a ~1.3 GiB int4
 * process), while a prompt touches a few thousand rows at most. Rows are read with positioned
 * synchronous reads (page-cached after the first use; ~2 µs each) and widened exactly as the graph's
 * Cast does (bf16/f16 → f32), so the values equal the Gather path's.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { Checkpoint } from '../io/checkpoint.ts';
import { bf16ToF32, f16ToF32 } from '../io/dtype.ts';
import { errnoCode, fail } from '../errors.ts';

export class EmbeddingRows {
  private constructor(
    private readonly fd: number,
    private readonly offset: number,
    private readonly dtype: 'BF16' | 'F16' | 'F32',
    readonly vocab: number,
    readonly hidden: number,
    private readonly label: string,
  ) {}

  static open(ckpt: Checkpoint, name: string): EmbeddingRows {
    const t = ckpt.tensor(name);
    if (t.dtype !== 'BF16' && t.dtype !== 'F16' && t.dtype !== 'F32') fail(`${ckpt.dir}: tensor '${name}' has dtype ${t.dtype}; expected BF16, F16 or F32`);
    if (t.shape.length !== 2) fail(`${ckpt.dir}: tensor '${name}' has shape [${t.shape.join(', ')}], expected [vocab, hidden]`);
    let fd: number;
    try {
      fd = openSync(t.file, 'r');
    } catch (e) {
      fail(`${t.file}: cannot open (${errnoCode(e)})`);
    }
    return new EmbeddingRows(fd, t.offset, t.dtype, t.shape[0]!, t.shape[1]!, t.file);
  }

  /** [ids.length, hidden] float32 (ids already range-checked by the caller). */
  lookup(ids: ArrayLike<number>): Float32Array {
    const H = this.hidden;
    const out = new Float32Array(ids.length * H);
    const esize = this.dtype === 'F32' ? 4 : 2;
    const row = new Uint8Array(H * esize);
    for (let i = 0; i < ids.length; i++) {
      const pos = this.offset + ids[i]! * H * esize;
      const n = readSync(this.fd, row, 0, row.length, pos);
      if (n !== row.length) fail(`${this.label}: unexpected end of file reading embedding row ${ids[i]} (file changed or truncated?)`);
      const dst = out.subarray(i * H, (i + 1) * H);
      if (this.dtype === 'F32') dst.set(new Float32Array(row.buffer, 0, H));
      else if (this.dtype === 'BF16') bf16ToF32(new Uint16Array(row.buffer, 0, H), dst);
      else f16ToF32(new Uint16Array(row.buffer, 0, H), dst);
    }
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}
