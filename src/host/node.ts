/**
 * The Node platform: node:fs and node:path, sha256 from node:crypto, sharp for images, the hub cache
 * under ~/.cache/minivl, onnxruntime-node. The decoder, hub and engine are imported on first use, so a
 * command that needs none of them (`minivl --help`, tokenizing) does not load sharp or ONNX Runtime.
 */
import { createHash } from 'node:crypto';
import { open, readFile, realpath, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { writeFileAtomic, writeFully } from '../io/atomic-write.ts';
import type { Host, HostFiles } from './types.ts';

const files: HostFiles = {
  readFile: async (p) => readFile(p),
  readTextFile: (p) => readFile(p, 'utf8'),
  stat: (p) => stat(p),
  realpath: (p) => realpath(p),
  open: (p) => open(p, 'r'),
  writeFileAtomic: (p, write) => writeFileAtomic(p, (fh) => write({ write: (b) => writeFully(fh, b) })),
};

export const nodeHost: Host = {
  name: 'node',
  files,
  path,
  async sha256(parts) {
    const h = createHash('sha256');
    for (const p of parts) h.update(p);
    return h.digest('hex');
  },
  cpuCount: () => availableParallelism(),
  decodeImage: async (src) => (await import('../image/decode.ts')).loadImage(src),
  resolveModel: async (dirOrRepo, opts) => (await import('../io/hub.ts')).resolveModel(dirOrRepo, opts),
  loadModel: async (dir, opts) => (await import('../runtime/model.ts')).Model.load(dir, opts),
};
