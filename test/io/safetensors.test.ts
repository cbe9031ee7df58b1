import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, readdir, symlink, truncate, appendFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { GOLDEN } from '../helpers/paths.ts';
import { SafetensorsFile, serializeSafetensors, writeSafetensors, type TensorToWrite } from '../../src/io/safetensors.ts';
import { tempDir, rejectsWith } from '../helpers/tmp.ts';

const FAMILIES = ['qwen2', 'internlm2', 'phi3'] as const;

/** Builds a raw safetensors file from a header object and a data length (for corrupt-file tests). */
function rawFile(header: unknown, dataBytes: number, opts: { headerText?: string; lengthOverride?: bigint } = {}): Uint8Array {
  const json = Buffer.from(opts.headerText ?? JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, opts.lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

async function rewrite(f: SafetensorsFile): Promise<TensorToWrite[]> {
  const ts: TensorToWrite[] = [];
  for (const n of f.names()) {
    const i = f.info(n);
    ts.push({ name: n, dtype: i.dtype, shape: i.shape, data: await f.readBytes(n) });
  }
  return ts;
}

test('golden tiny checkpoints open lazily with absolute offsets', async () => {
  const f = await SafetensorsFile.open(join(GOLDEN, 'models/qwen2/model.safetensors'));
  assert.equal(f.tensors.size, 65);
  assert.deepEqual(f.metadata, { format: 'pt' });
  assert.equal(f.headerLength, 7064);
  const t = f.info('language_model.lm_head.weight');
  assert.deepEqual({ dtype: t.dtype, shape: t.shape, offset: t.offset, byteLength: t.byteLength },
    { dtype: 'BF16', shape: [512, 64], offset: 8 + 7064, byteLength: 65536 });
  assert.equal(t.file, f.path);
  const x = await f.readFloat32('language_model.lm_head.weight');
  assert.equal(x.length, 512 * 64);
  assert.deepEqual([...x.slice(0, 4)], [-0.06640625, -0.1416015625, -0.083984375, -0.095703125]);
  // Offsets are file offsets: the raw bytes at t.offset are the tensor's BF16 bits.
  const whole = await readFile(f.path);
  const raw = await f.readBytes('language_model.lm_head.weight');
  assert.deepEqual(raw, new Uint8Array(whole.subarray(t.offset, t.offset + t.byteLength)));
});

test('golden data files: I64 and F32 tensors read with the right types', async () => {
  const g = await SafetensorsFile.open(join(GOLDEN, 'models/qwen2/golden.safetensors'));
  assert.deepEqual(g.info('input_ids').shape, [1, 793]);
  assert.equal(g.info('input_ids').dtype, 'I64');
  const ids = await g.readInt64('input_ids');
  assert.ok(ids instanceof BigInt64Array && ids.length === 793);
  const greedy = await g.readIntegers('greedy_tokens');
  assert.deepEqual(greedy, [94, 243, 121, 240, 285, 382, 257, 382, 257, 382, 257, 382]);
  const logits = await g.readFloat32('logits');
  assert.equal(logits.length, 793 * 512);
  assert.ok(logits.every(Number.isFinite));
  await rejectsWith(g.readFloat32('input_ids'), /golden\.safetensors/, /'input_ids' is I64, not a float tensor/);
  await rejectsWith(g.readInt64('logits'), /golden\.safetensors/, /'logits' is F32, expected I64/);
  await rejectsWith(g.readIntegers('logits'), /expected an integer dtype/);
  await rejectsWith(async () => g.info('nope'), /golden\.safetensors: no tensor 'nope'/);
});

test('re-serializing every golden file reproduces it byte for byte (reference writer layout)', async () => {
  for (const fam of FAMILIES) {
    for (const name of ['model.safetensors', 'golden.safetensors', 'lora_golden.safetensors']) {
      const path = join(GOLDEN, 'models', fam, name);
      const f = await SafetensorsFile.open(path);
      const bytes = serializeSafetensors(await rewrite(f), Object.keys(f.metadata).length ? f.metadata : undefined);
      assert.ok(Buffer.from(bytes).equals(await readFile(path)), `${fam}/${name}`);
    }
  }
});

test('serialization matches the reference Rust test vectors', () => {
  // safetensors tensor.rs test_serialization: {"attn.0": F32 [1,2,3] = 0..5}.
  const out = serializeSafetensors([{ name: 'attn.0', dtype: 'F32', shape: [1, 2, 3], data: [0, 1, 2, 3, 4, 5] }]);
  assert.deepEqual([...out], [
    64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
    116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
    58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
    101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
    0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
  ]);
  // test_empty, with and without metadata.
  assert.deepEqual([...serializeSafetensors([])], [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  assert.deepEqual([...serializeSafetensors([], { framework: 'pt' })], [
    40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
    95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
    116, 34, 125, 125, 32, 32, 32, 32, 32,
  ]);
});

test('writeSafetensors round-trips every readable dtype, sorted as the reference does, atomically', async () => {
  const dir = await tempDir();
  const path = join(dir, 'out.safetensors');
  const w = [1.5, -2.25, 3.0e-3, 65504, 1 / 3, -0];
  await writeSafetensors(path, [
    { name: 'b.bf16', dtype: 'BF16', shape: [2, 3], data: Float32Array.from(w) },
    { name: 'a.f16', dtype: 'F16', shape: [6], data: Float32Array.from(w) },
    { name: 'z.f32', dtype: 'F32', shape: [3, 2], data: Float32Array.from(w) },
    { name: 'ids', dtype: 'I64', shape: [1, 3], data: BigInt64Array.from([1n, -2n, 151655n]) },
    { name: 'mask', dtype: 'BOOL', shape: [3], data: Uint8Array.from([1, 0, 1]) },
    { name: 'i32', dtype: 'I32', shape: [2], data: [7, -8] },
    { name: 'f64', dtype: 'F64', shape: [2], data: Float64Array.from([0.1, -1e300]) },
    { name: 'scalar', dtype: 'F32', shape: [], data: [42] },
    { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  ], { format: 'pt', note: 'round trip' });
  assert.deepEqual(await readdir(dir), ['out.safetensors'], 'no temp file left behind');

  const f = await SafetensorsFile.open(path);
  assert.equal(f.headerLength % 8, 0);
  assert.deepEqual(f.metadata, { format: 'pt', note: 'round trip' });
  // Descending dtype alignment (I64 > F64 > F32 > I32 > BF16 > F16 > BOOL), then by name.
  assert.deepEqual(f.names(), ['ids', 'f64', 'empty', 'scalar', 'z.f32', 'i32', 'b.bf16', 'a.f16', 'mask']);
  assert.deepEqual([...(await f.readFloat32('z.f32'))], [...Float32Array.from(w)]);
  assert.deepEqual([...(await f.readFloat32('b.bf16'))], [1.5, -2.25, 0.0030059814453125, 65536, 0.333984375, -0]);
  assert.deepEqual([...(await f.readFloat32('a.f16'))], [1.5, -2.25, 0.0030002593994140625, 65504, 0.333251953125, -0]);
  assert.deepEqual(await f.readIntegers('ids'), [1, -2, 151655]);
  assert.deepEqual(await f.readIntegers('mask'), [1, 0, 1]);
  assert.deepEqual(await f.readIntegers('i32'), [7, -8]);
  assert.deepEqual([...(await f.readFloat32('f64'))], [Math.fround(0.1), -Infinity]);
  assert.deepEqual([...(await f.readFloat32('scalar'))], [42]);
  assert.equal((await f.readFloat32('empty')).length, 0);
  const typed = await f.readTyped('b.bf16');
  assert.ok(typed instanceof Uint16Array && typed[0] === 0x3fc0);

  // Overwriting replaces the file in one step.
  await writeSafetensors(path, [{ name: 'x', dtype: 'U8', shape: [1], data: Uint8Array.of(9) }]);
  assert.deepEqual((await SafetensorsFile.open(path)).names(), ['x']);
});

test('writeSafetensors rejects bad input with one-line errors naming the file', async () => {
  const dir = await tempDir();
  const path = join(dir, 'bad.safetensors');
  await rejectsWith(writeSafetensors(path, [{ name: 'a', dtype: 'F32', shape: [3], data: [1, 2] }]), /bad\.safetensors/, /'a' F32 \[3\] needs 12 bytes, data has 8/);
  await rejectsWith(writeSafetensors(path, [
    { name: 'a', dtype: 'F32', shape: [1], data: [1] }, { name: 'a', dtype: 'F32', shape: [1], data: [1] },
  ]), /duplicate tensor name 'a'/);
  await rejectsWith(writeSafetensors(path, [{ name: 'a', dtype: 'I32', shape: [1], data: Float32Array.of(1) }]), /cannot write tensor 'a' as I32 from a Float32Array/);
  await rejectsWith(writeSafetensors(join(dir, 'no/such/dir/x.safetensors'), []), /x\.safetensors: cannot write \(ENOENT\)/);
  assert.deepEqual(await readdir(dir), []);
});

test('symlinked files resolve to the real path', async () => {
  const dir = await tempDir();
  // realpath: shared/ itself may sit behind a symlink on some machines.
  const real = await realpath(join(GOLDEN, 'models/phi3/model.safetensors'));
  const link = join(dir, 'link.safetensors');
  await symlink(real, link);
  const f = await SafetensorsFile.open(link);
  assert.equal(f.path, real);
  assert.equal(f.label, link);
  assert.equal(f.info('language_model.lm_head.weight').file, real);
});

test('corrupt and truncated files fail with one line naming the file and the problem', async () => {
  const dir = await tempDir();
  const good = { a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] }, b: { dtype: 'BF16', shape: [4], data_offsets: [16, 24] } };
  const cases: [string, Uint8Array, RegExp][] = [
    ['short.safetensors', Uint8Array.of(1, 2, 3), /short\.safetensors: not a safetensors file: 3 bytes/],
    ['huge-len.safetensors', rawFile(good, 24, { lengthOverride: 1n << 40n }), /huge-len\.safetensors: corrupt header: header length 1099511627776 exceeds/],
    ['past-end.safetensors', rawFile(good, 0, { lengthOverride: 100000n }), /past-end\.safetensors: corrupt header: header length 100000 runs past the end of the \d+-byte file/],
    ['bad-json.safetensors', rawFile(null, 24, { headerText: '{"a": {"dtype": "F32",' }), /bad-json\.safetensors: corrupt header: invalid JSON/],
    ['not-object.safetensors', rawFile(null, 0, { headerText: '[1, 2]  ' }), /not-object\.safetensors: corrupt header: does not start with '\{'/],
    ['bad-dtype.safetensors', rawFile({ a: { dtype: 'F17', shape: [2], data_offsets: [0, 8] } }, 8), /bad-dtype\.safetensors: corrupt header: tensor 'a' has unknown dtype "F17"/],
    ['bad-shape.safetensors', rawFile({ a: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 8] } }, 8), /bad-shape\.safetensors: corrupt header: tensor 'a' has an invalid shape \[2,-1\]/],
    ['bad-offsets.safetensors', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, 8), /bad-offsets\.safetensors: corrupt header: tensor 'a' has invalid data_offsets \[8,0\]/],
    ['size-mismatch.safetensors', rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /size-mismatch\.safetensors: corrupt header: tensor 'a' F32 \[3\] needs 12 bytes but data_offsets \[0, 8\] span 8/],
    ['overlap.safetensors', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12), /overlap\.safetensors: corrupt header: tensor 'b' \[4, 12\] overlaps tensor 'a'/],
    ['gap.safetensors', rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, 12), /gap\.safetensors: corrupt header: gap in the data before tensor 'b'/],
    ['meta.safetensors', rawFile({ __metadata__: { format: 3 } }, 0), /meta\.safetensors: corrupt header: __metadata__\.format is not a string/],
    ['truncated.safetensors', rawFile(good, 10), /truncated\.safetensors: truncated: header says 24 bytes of data, file has 10/],
    ['trailing.safetensors', rawFile(good, 30), /trailing\.safetensors: corrupt: 6 trailing bytes after the last tensor/],
  ];
  for (const [name, bytes, re] of cases) {
    const p = join(dir, name);
    await writeFile(p, bytes);
    await rejectsWith(SafetensorsFile.open(p), re);
  }
  await rejectsWith(SafetensorsFile.open(join(dir, 'missing.safetensors')), /missing\.safetensors: no such file/);
  await rejectsWith(SafetensorsFile.open(dir), /not a regular file/);
});

test('a golden checkpoint truncated on disk is reported with the byte counts', async () => {
  const dir = await tempDir();
  const p = join(dir, 'model.safetensors');
  const bytes = await readFile(join(GOLDEN, 'models/qwen2/model.safetensors'));
  await writeFile(p, bytes);
  await truncate(p, 1000 + 8 + 7064);
  await rejectsWith(SafetensorsFile.open(p), /model\.safetensors: truncated: header says 687616 bytes of data, file has 1000/);
  await writeFile(p, bytes);
  await appendFile(p, 'x');
  await rejectsWith(SafetensorsFile.open(p), /model\.safetensors: corrupt: 1 trailing bytes/);
  // A file that shrinks after open() is caught at read time.
  await writeFile(p, bytes);
  const f = await SafetensorsFile.open(p);
  await truncate(p, 8 + 7064 + 100);
  await rejectsWith(f.readBytes('language_model.lm_head.weight'), /model\.safetensors: unexpected end of file/);
});

test('readBytesRange reads part of a tensor (e.g. embedding rows) and checks bounds', async () => {
  const f = await SafetensorsFile.open(join(GOLDEN, 'models/qwen2/model.safetensors'));
  const name = 'language_model.model.embed_tokens.weight'; // [512, 64] BF16: 128 bytes per row
  const whole = await f.readBytes(name);
  const rows = await f.readBytesRange(name, 7 * 128, 2 * 128);
  assert.deepEqual(rows, whole.subarray(7 * 128, 9 * 128));
  await rejectsWith(f.readBytesRange(name, 65536 - 10, 11), /byte range \[65526, 65537\) is outside tensor 'language_model\.model\.embed_tokens\.weight' \(65536 bytes\)/);
  await rejectsWith(f.readBytesRange(name, -1, 2), /is outside tensor/);
});

test('thousands of concurrent reads do not exhaust file descriptors', async () => {
  const f = await SafetensorsFile.open(join(GOLDEN, 'models/internlm2/model.safetensors'));
  const names = Array.from({ length: 40 }, () => f.names()).flat(); // 2,200 reads at once
  const out = await Promise.all(names.map((n) => f.readBytes(n)));
  assert.equal(out.length, names.length);
  assert.deepEqual(out[0], out[f.names().length]);
});
