// The published package as a user gets it: `npm pack` (prepack builds dist/), the tarball installed
// into an empty folder outside the checkout, offline; there the CLI, the README's first command (with no
// ../shared beside it), `minivl serve` with its web page, a plain .mjs and a strict TypeScript consumer must work. Also lints the
// tarball with publint and @arethetypeswrong/cli.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { publint } from 'publint';
import sharp from 'sharp';
import { ROOT } from './helpers/paths.ts';
import { tempDir } from './helpers/tmp.ts';

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/**
 * package.json + package-lock.json of a consumer app that depends on the tarball. The lockfile pins
 * the tarball's dependencies to the versions of the project's own lockfile (what the tests ran with),
 * with their tarball URLs and hashes: `npm ci --offline` then resolves nothing and reads every
 * dependency from the local npm cache, which `npm ci` of the checkout filled.
 */
function writeConsumerApp(app: string, tarball: string): void {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const packages: Record<string, unknown> = {
    '': { name: 'app', dependencies: { minivl: `file:${tarball}` } },
    'node_modules/minivl': { version: pkg.version, resolved: `file:${tarball}`, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  for (const [k, v] of Object.entries(lock.packages)) {
    if (k === '' || v.dev) continue;
    const name = (v.name as string | undefined) ?? k.slice(k.lastIndexOf('node_modules/') + 'node_modules/'.length);
    // npm leaves `resolved` out for some registry entries; without it an offline install asks for the packument.
    packages[k] = { resolved: `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${v.version}.tgz`, ...v };
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { minivl: `file:${tarball}` } }, null, 2));
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }, null, 2));
}

test('npm pack → offline install in an empty folder: CLI, README main command, .mjs import, tsc --strict consumer', { timeout: 600_000 }, async () => {
  const root = await tempDir('minivl-pack-');
  assert.equal(existsSync(join(root, '..', 'shared')), false, 'the install folder must have no ../shared beside it');

  // Pack (prepack compiles src/ to dist/).
  const packed = run('npm', ['pack', '--json', '--pack-destination', root], { cwd: ROOT });
  assert.equal(packed.status, 0, packed.stderr);
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [{ filename: string; size: number; files: { path: string }[] }];
  const files = info.files.map((f) => f.path);
  for (const f of ['bin/minivl.mjs', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/serve/web/index.html', 'dist/serve/web/app.js', 'dist/serve/web/style.css', 'assets/demo.png', 'examples/chat.mjs', 'README.md']) assert.ok(files.includes(f), f);
  assert.deepEqual(files.filter((f) => /^(test|bench|scripts)\//.test(f) || /golden|\.test\.ts$/.test(f)), []);
  const tarball = join(root, info.filename);

  // Lint the tarball itself: publint (every level) and attw (ESM-only package: no CJS entry to check).
  const bytes = readFileSync(tarball);
  const lint = await publint({ pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) }, level: 'suggestion' });
  assert.deepEqual(lint.messages, []);
  const attw = run(join(ROOT, 'node_modules', '.bin', 'attw'), [tarball, '--profile', 'esm-only', '--no-definitely-typed', '--format', 'ascii', '--no-color']);
  assert.equal(attw.status, 0, attw.stdout + attw.stderr);

  // Offline install. --ignore-scripts: better-sqlite3 would compile with node-gyp (about a minute, and
  // it needs Node's headers, which an offline machine may lack) and none of the checks below opens
  // SQLite; sharp and the CPU build of onnxruntime-node ship their binaries in their packages
  // (ONNXRUNTIME_NODE_INSTALL=skip is what a user sets for the same offline install with scripts).
  const app = join(root, 'app');
  run('mkdir', [app]);
  writeConsumerApp(app, tarball);
  // TMPDIR: the README command's `mktemp -d` folder lands in (and is removed with) this test's folder.
  const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', TMPDIR: root };
  const inst = run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: app, env });
  assert.equal(inst.status, 0, inst.stderr);

  const help = run('npx', ['--offline', 'minivl', '--help'], { cwd: app, env });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: minivl <command> \[options\]\n/);

  // The README's first command, after its `npm ci &&`, on the package's own copy of the demo image.
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const line = readme.split('\n').find((l) => l.startsWith('npm ci && '));
  assert.ok(line && line.includes('--image assets/demo.png'), 'README main command');
  const main = run('bash', ['-c', line.slice('npm ci && '.length).replace('--image assets/demo.png', '--image node_modules/minivl/assets/demo.png')], { cwd: app, env });
  assert.equal(main.status, 0, main.stderr);
  assert.match(main.stdout, /\S/);
  assert.match(main.stderr, /minivl: reading the prompt \(\d+ tokens\)/);

  // A plain .mjs importing the package.
  const ckpt = join(root, 'ckpt');
  assert.equal(run('npx', ['--offline', 'minivl', 'dev', 'random-checkpoint', '--like', 'internvl2-1b', '--tiny', '--out', ckpt], { cwd: app, env }).status, 0);
  writeFileSync(join(app, 'answer.mjs'), `import { MiniVL } from 'minivl';
const vl = await MiniVL.load(process.argv[2]);
const r = await vl.chat({ images: ['node_modules/minivl/assets/demo.png'], question: 'Describe the image.', maxNum: 1,
                          generation: { maxNewTokens: 8, doSample: true, seed: 1 } });
console.log(JSON.stringify({ text: r.text, tokens: r.tokenIds.length, promptTokens: r.promptTokens }));
await vl.release();
`);
  const mjs = run(process.execPath, ['answer.mjs', ckpt], { cwd: app });
  assert.equal(mjs.status, 0, mjs.stderr);
  assert.equal(mjs.stderr, '', 'the library writes nothing to stderr');
  const answer = JSON.parse(mjs.stdout) as { text: string; tokens: number; promptTokens: number };
  assert.ok(answer.text.length > 0 && answer.tokens >= 1 && answer.tokens <= 8, mjs.stdout);
  assert.ok(answer.promptTokens > 256, 'one tile of image tokens and the question');

  // `minivl serve` as installed: the web page (read next to the compiled server) and the API answer.
  // (The package's bin run by node itself: npx would not pass SIGTERM on to it.)
  const server = spawn(process.execPath, ['node_modules/minivl/bin/minivl.mjs', 'serve', '--model', ckpt, '--port', '0'], { cwd: app, env, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      server.stderr.on('data', (d: Buffer) => {
        stderr += String(d);
        const m = / at (http:\/\/\S+) /.exec(stderr);
        if (m) resolve(m[1]!);
      });
      server.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    assert.equal((await fetch(`${url}/app.js`)).status, 200);
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] };
    assert.deepEqual(models.data.map((m) => m.id), ['ckpt']);
  } finally {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }

  // The examples, as shipped (they import 'minivl' by name, which resolves to the package itself), on a
  // one-tile image so that each stays a second or two.
  const img = join(root, 'small.png');
  await sharp({ create: { width: 224, height: 224, channels: 3, background: '#3b7dd8' } }).png().toFile(img);
  const lastLines: Record<string, RegExp> = {
    chat: /^\(\d+ prompt tokens, [1-9]\d* generated, stopped by \w+\)$/,
    stream: /^\([1-9]\d* tokens in \d+ ms\)$/,
    session: /^\(3 turns, 2 images\)$/,
    grounding: /^\[.*\]$/,
  };
  for (const [name, last] of Object.entries(lastLines)) {
    const ex = run(process.execPath, [`node_modules/minivl/examples/${name}.mjs`, ckpt, img], { cwd: app });
    assert.equal(ex.status, 0, `${name}: ${ex.stderr}`);
    assert.match(ex.stdout.trimEnd().split('\n').at(-1)!, last, `${name}: ${ex.stdout}`);
  }

  // A TypeScript consumer compiled with --strict against the shipped .d.ts (and Node's types, as any Node app has).
  writeFileSync(join(app, 'consumer.ts'), `import { MiniVL, type ChatResult, type MiniVLLoadOptions, type Tokenizer } from 'minivl';
const opts: MiniVLLoadOptions = { device: 'cpu', threads: 1 };
export async function ask(dir: string, question: string): Promise<string> {
  const vl: MiniVL = await MiniVL.load(dir, opts);
  const tok: Tokenizer = vl.tokenizer;
  const r: ChatResult = await vl.chat({ question, generation: { maxNewTokens: 4 } });
  for await (const c of vl.chatStream({ question })) console.log(c.text);
  return \`\${r.text} \${r.promptIds.length} \${tok.encode(question).length}\`;
}
`);
  const tsc = run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--target', 'es2022', '--typeRoots', join(ROOT, 'node_modules', '@types'), '--types', 'node', 'consumer.ts'], { cwd: app });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
});
