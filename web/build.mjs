// Builds the browser page into web/dist/ (index.html, app.js, onnxruntime-web's .wasm files):
//   node web/build.mjs [--outdir DIR]
// The core library is bundled as it is; three modules are swapped for their browser counterparts,
// the same way a bundler maps platform.ts (see src/host/platform.ts).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const WEB = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(WEB, '..');
const { values } = parseArgs({ options: { outdir: { type: 'string', default: join(WEB, 'dist') } } });
const outdir = resolve(values.outdir);

const SWAPS = [
  [/src\/host\/platform\.ts$/, join(WEB, 'platform.ts')], // fetch, picked folders, OPFS, the engine
  [/src\/runtime\/ort\.ts$/, join(WEB, 'ort.ts')], // onnxruntime-web instead of onnxruntime-node
  [/src\/runtime\/weight-cache\.ts$/, join(WEB, 'weight-cache.ts')], // int4 converted in the tab, kept in OPFS
  [/src\/runtime\/converted-weights\.ts$/, join(WEB, 'converted-weights.ts')], // int4 in files of ≤ 1 GiB
  [/src\/runtime\/embedding-rows\.ts$/, join(WEB, 'embedding-rows.ts')], // embedding rows of int4 from the stored table
  [/src\/model\/lora-adapter\.ts$/, join(WEB, 'node-only.ts')], // LoRA adapters: Node only
];
const swap = {
  name: 'browser-swaps',
  setup(b) {
    b.onResolve({ filter: /\.ts$/ }, (a) => {
      const full = resolve(a.resolveDir, a.path);
      for (const [re, to] of SWAPS) if (re.test(full)) return { path: to };
      return undefined;
    });
  },
};

mkdirSync(outdir, { recursive: true });
const r = await build({
  entryPoints: [join(WEB, 'app.ts')],
  outfile: join(outdir, 'app.js'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  sourcemap: true,
  minify: true,
  metafile: true,
  logLevel: 'warning',
  plugins: [swap],
});
copyFileSync(join(WEB, 'index.html'), join(outdir, 'index.html'));
// The WebGPU build of onnxruntime-web (1.30) loads its WASM runtime (the asyncify build: WebGPU and
// the CPU fallback in one binary) at run time, from beside app.js.
const ortDist = join(ROOT, 'node_modules', 'onnxruntime-web', 'dist');
for (const f of ['ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm']) copyFileSync(join(ortDist, f), join(outdir, f));
const bytes = Object.values(r.metafile.outputs).reduce((a, o) => a + o.bytes, 0);
process.stderr.write(`web/build: ${outdir} (app.js + maps ${(bytes / 2 ** 20).toFixed(1)} MiB)\n`);
