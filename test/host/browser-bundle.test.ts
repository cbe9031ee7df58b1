// The library core runs without Node: bundled for the browser (with the one platform module mapped to
// host/browser.ts, as a browser build maps it), it pulls in no Node built-in, no sharp and no
// onnxruntime-node; and the core folders import none of them directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { ROOT } from '../helpers/paths.ts';

const SRC = join(ROOT, 'src');
const NODE_ONLY = new Set(['sharp', 'onnxruntime-node', ...builtinModules]);
const isNodeOnly = (spec: string) => spec.startsWith('node:') || NODE_ONLY.has(spec.split('/')[0]!);

test('src/core.ts bundles for platform "browser" with no Node built-in, sharp or onnxruntime-node', async () => {
  const offending: string[] = [];
  const platformSwap: Plugin = {
    name: 'platform-swap',
    setup(b) {
      b.onResolve({ filter: /host\/platform\.ts$/ }, () => ({ path: join(SRC, 'host', 'browser.ts') }));
      // Dependencies map what they may not use in a browser themselves (package.json "browser", e.g.
      // protobufjs's optional fs); esbuild fails the build on any they leave.
      b.onResolve({ filter: /.*/ }, (a) => {
        if (!isNodeOnly(a.path) || a.importer.includes('/node_modules/')) return undefined;
        offending.push(`${relative(ROOT, a.importer)} imports ${a.path}`);
        return { path: a.path, external: true };
      });
    },
  };
  const r = await build({
    entryPoints: [join(SRC, 'core.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [platformSwap],
  });
  assert.deepEqual(offending, []);
  const inputs = Object.keys(r.metafile.inputs);
  assert.ok(inputs.some((f) => f.endsWith('src/minivl.ts')) && inputs.some((f) => f.endsWith('src/host/browser.ts')));
  assert.ok(!inputs.some((f) => f.endsWith('src/host/node.ts')));
  assert.ok(r.outputFiles[0]!.text.length > 100_000);
});

/** Every .ts file under `dir`. */
function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : n.endsWith('.ts') ? [p] : [];
  });
}

test('core folders import no node:* module and no sharp (only the image decoder and video frames may)', () => {
  const core = ['tokenizer', 'image', 'prompt', 'graph', 'model', 'generate'].flatMap((d) => tsFiles(join(SRC, d)));
  core.push(join(SRC, 'minivl.ts'), join(SRC, 'core.ts'));
  const allowed = new Set(['src/image/decode.ts', 'src/image/video.ts', 'src/image/index.ts']);
  const bad: string[] = [];
  for (const f of core) {
    const rel = relative(ROOT, f);
    if (allowed.has(rel)) continue;
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)) {
      const spec = m[1] ?? m[2]!;
      if (isNodeOnly(spec)) bad.push(`${rel}: ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});
