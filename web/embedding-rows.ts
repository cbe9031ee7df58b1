/**
 * What `src/runtime/embedding-rows.ts` becomes in the page (web/build.mjs maps it here): the token
 * embedding rows of the reduced precisions, looked up in the checkpoint's stored (bf16) table, read
 * once into JS memory (the 4B's table is 197 MB; it never enters the WASM heap) and widened per row
 * exactly as the Node version does.
 */
import type { Checkpoint } from '../src/io/checkpoint.ts';
import { bf16ToF32, f16ToF32 } from '../src/io/dtype.ts';
import { fail } from '../src/errors.ts';

export class EmbeddingRows {
  private table: Promise<Uint8Array> | null = null;

  private constructor(private readonly ckpt: Checkpoint, private readonly name: string, private readonly dtype: string, readonly vocab: number, readonly hidden: number) {}

  static open(ckpt: Checkpoint, name: string): EmbeddingRows {
    const t = ckpt.tensor(name);
    if (t.dtype !== 'BF16' && t.dtype !== 'F16' && t.dtype !== 'F32') fail(`${ckpt.dir}: tensor '${name}' has dtype ${t.dtype}; expected BF16, F16 or F32`);
    if (t.shape.length !== 2) fail(`${ckpt.dir}: tensor '${name}' has shape [${t.shape.join(', ')}], expected [vocab, hidden]`);
    return new EmbeddingRows(ckpt, name, t.dtype, t.shape[0]!, t.shape[1]!);
  }

  /** [ids.length, hidden] float32 (a Promise here: the table is read on first use; Model.embed awaits it). */
  async lookup(ids: ArrayLike<number>): Promise<Float32Array> {
    this.table ??= this.ckpt.readBytes(this.name);
    const bytes = await this.table;
    const H = this.hidden;
    const esize = this.dtype === 'F32' ? 4 : 2;
    const out = new Float32Array(ids.length * H);
    for (let i = 0; i < ids.length; i++) {
      const row = bytes.slice(ids[i]! * H * esize, (ids[i]! + 1) * H * esize);
      const dst = out.subarray(i * H, (i + 1) * H);
      if (this.dtype === 'F32') dst.set(new Float32Array(row.buffer));
      else if (this.dtype === 'BF16') bf16ToF32(new Uint16Array(row.buffer), dst);
      else f16ToF32(new Uint16Array(row.buffer), dst);
    }
    return out;
  }

  close(): void {
    this.table = null;
  }
}
