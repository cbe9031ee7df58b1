import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MinivlError } from '../../src/errors.ts';
import { cachedSnapshot, hubSettings, isCheckpointFile, parseRepoId, repoCacheDir, resolveModel, type HubOptions } from '../../src/io/hub.ts';
import { DownloadProgress, formatBytes, formatDuration, formatProgressLine } from '../../src/io/hub-progress.ts';
import { gitBlobSha1, sha256, startHubServer, type HubServer } from '../helpers/hub-server.ts';
import { ROOT, shared } from '../helpers/paths.ts';
import { rejectsWith, tempDir } from '../helpers/tmp.ts';

const REPO = 'OpenGVLab/InternVL2-1B';
const golden = (f: string) => readFileSync(shared('golden/models/qwen2', f));
const tok = (f: string) => readFileSync(shared('assets/tokenizers/internvl2-1b', f));
/** A tiny real checkpoint folder as the Hub would list it, plus files minivl must skip. */
const FILES: Record<string, Uint8Array> = {
  'config.json': golden('config.json'),
  'model.safetensors': golden('model.safetensors'),
  'vocab.json': tok('vocab.json'),
  'merges.txt': tok('merges.txt'),
  'tokenizer_config.json': tok('tokenizer_config.json'),
  'added_tokens.json': tok('added_tokens.json'),
  'generation_config.json': Buffer.from('{"eos_token_id": [151644, 151645]}\n'),
  'modeling_internvl_chat.py': Buffer.from('# reference code\n'),
  'examples/image1.jpg': Buffer.from('not really a jpeg'),
  '.gitattributes': Buffer.from('*.safetensors filter=lfs\n'),
};
const NEEDED = Object.keys(FILES).filter(isCheckpointFile).sort();
const WEIGHTS = FILES['model.safetensors'];

const tempCache = () => tempDir('minivl-hub-');

async function withServer(fn: (srv: HubServer) => Promise<void>): Promise<void> {
  const srv = await startHubServer({ repo: REPO, files: FILES });
  try {
    await fn(srv);
  } finally {
    await srv.close();
  }
}

const opts = (srv: HubServer | null, cacheDir: string, extra: HubOptions = {}): HubOptions => ({
  endpoint: srv?.url ?? 'http://127.0.0.1:9',
  cacheDir,
  progress: null,
  handleSigint: false,
  env: {},
  ...extra,
});

/** Every file under the cache whose name looks finished (no .incomplete / tmp), as relative paths. */
function listTree(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listTree(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

test('settings: env overrides, options over env, defaults', () => {
  const d = hubSettings({ env: { HOME: '/h' } });
  assert.equal(d.endpoint, 'https://huggingface.co');
  assert.equal(d.offline, false);
  const e = hubSettings({ env: { MINIVL_CACHE: '/c', MINIVL_HUB_ENDPOINT: 'http://127.0.0.1:5/', HF_HUB_OFFLINE: '1', HF_TOKEN: 't' } });
  assert.deepEqual(e, { hubDir: '/c/hub', endpoint: 'http://127.0.0.1:5', offline: true, token: 't' });
  assert.equal(hubSettings({ env: { MINIVL_OFFLINE: 'true' } }).offline, true);
  assert.equal(hubSettings({ env: { MINIVL_OFFLINE: '0' } }).offline, false);
  assert.equal(hubSettings({ env: { MINIVL_CACHE: '/c' }, cacheDir: '/o', offline: false }).hubDir, '/o/hub');
  assert.equal(hubSettings({ env: { XDG_CACHE_HOME: '/x' } }).hubDir, '/x/minivl/hub');
  assert.throws(() => hubSettings({ endpoint: 'ftp://x' }), MinivlError);
});

test('repo ids and the files worth fetching', () => {
  assert.deepEqual(parseRepoId('OpenGVLab/InternVL2-1B'), { repo: 'OpenGVLab/InternVL2-1B', revision: null });
  assert.deepEqual(parseRepoId('OpenGVLab/InternVL2-1B@v1.0'), { repo: 'OpenGVLab/InternVL2-1B', revision: 'v1.0' });
  for (const bad of ['InternVL2-1B', './a/b', '/abs/path', 'a/b/c', '../x', 'a/..']) assert.equal(parseRepoId(bad), null, bad);
  assert.deepEqual(NEEDED, ['added_tokens.json', 'config.json', 'generation_config.json', 'merges.txt', 'model.safetensors', 'tokenizer_config.json', 'vocab.json']);
  assert.ok(isCheckpointFile('model-00001-of-00002.safetensors') && isCheckpointFile('tokenizer.model'));
  assert.equal(repoCacheDir('Org/Name', '/c/hub'), '/c/hub/models--Org--Name');
});

test('a local folder is returned as is; a missing path or a file is a one-line error', async () => {
  const dir = shared('golden/models/qwen2');
  assert.equal(await resolveModel(dir), dir);
  await rejectsWith(resolveModel('./no/such/dir'), /no such folder/);
  await rejectsWith(resolveModel(join(dir, 'config.json')), /is a file/);
});

test('download: HF cache layout, LFS via redirect, hashes as blob names, skips *.py; second call downloads nothing', async () => {
  const cache = await tempCache();
  await withServer(async (srv) => {
    const dir = await resolveModel(REPO, opts(srv, cache));
    const repoDir = join(cache, 'hub', 'models--OpenGVLab--InternVL2-1B');
    assert.equal(dir, join(repoDir, 'snapshots', srv.commit));
    assert.deepEqual(readdirSync(dir).sort(), NEEDED);
    for (const f of NEEDED) {
      assert.deepEqual(await readFile(join(dir, f)), Buffer.from(FILES[f]), f);
      assert.ok(lstatSync(join(dir, f)).isSymbolicLink(), `${f} is a symlink`);
    }
    assert.equal(readlinkSync(join(dir, 'model.safetensors')), `../../blobs/${sha256(WEIGHTS)}`);
    assert.equal(readlinkSync(join(dir, 'config.json')), `../../blobs/${gitBlobSha1(FILES['config.json'])}`);
    assert.equal(readFileSync(join(repoDir, 'refs', 'main'), 'utf8'), srv.commit);
    assert.equal(listTree(repoDir).filter((f) => /incomplete|tmp/.test(f)).length, 0);
    // LFS: HEAD answered 302 with the metadata, the bytes came from the CDN route.
    assert.deepEqual(srv.requestsFor('/resolve/').filter((r) => r.path.endsWith('model.safetensors')).map((r) => [r.method, r.status]), [['HEAD', 302]]);
    assert.equal(srv.requestsFor(`/cdn/${sha256(WEIGHTS)}`).length, 1);
    assert.equal(srv.requestsFor('.py').length + srv.requestsFor('examples/').length, 0);

    const before = srv.requests.length;
    assert.equal(await resolveModel(REPO, opts(srv, cache)), dir);
    assert.deepEqual(srv.requests.slice(before).map((r) => r.path), [`/api/models/${REPO}/revision/main`]);
  });
  // Offline (option or env): served from the cache without any server.
  const offlineDir = await resolveModel(REPO, opts(null, cache, { offline: true }));
  assert.deepEqual(readdirSync(offlineDir).sort(), NEEDED);
  assert.equal(await resolveModel(REPO, { cacheDir: cache, env: { MINIVL_OFFLINE: '1' }, progress: null }), offlineDir);
  assert.equal(await cachedSnapshot(join(cache, 'hub', 'models--OpenGVLab--InternVL2-1B'), 'main'), offlineDir);
  // Online but unreachable: falls back to the cache and says so.
  let note = '';
  const fallback = await resolveModel(REPO, opts(null, cache, { progress: { write: (s: string) => (note += s) } }));
  assert.equal(fallback, offlineDir);
  assert.match(note, /cannot reach .* using the cached OpenGVLab\/InternVL2-1B/);
});

test('offline with an unknown model, unknown repo, unreachable hub and a 404 file are one-line errors', async () => {
  const cache = await tempCache();
  await rejectsWith(resolveModel('Org/Unknown', opts(null, cache, { offline: true })), /Org\/Unknown/, /not in the cache/, /offline/);
  await rejectsWith(resolveModel('Org/Unknown', opts(null, cache)), /cannot reach http:\/\/127\.0\.0\.1:9/);
  await withServer(async (srv) => {
    await rejectsWith(resolveModel('Org/Unknown', opts(srv, cache)), /'Org\/Unknown' is not a local folder and not found on http.*HTTP 404/);
    srv.notFound('vocab.json');
    await rejectsWith(resolveModel(REPO, opts(srv, cache)), /vocab\.json: not found on the hub/);
    // Nothing was recorded as complete.
    assert.equal(existsSync(join(cache, 'hub', 'models--OpenGVLab--InternVL2-1B', 'refs', 'main')), false);
  });
});

test('interrupted download: only .incomplete stays; the next call resumes with Range for the remaining bytes', async () => {
  const cache = await tempCache();
  const blobs = join(cache, 'hub', 'models--OpenGVLab--InternVL2-1B', 'blobs');
  const blob = join(blobs, sha256(WEIGHTS));
  await withServer(async (srv) => {
    srv.cutOnce('model.safetensors', 100_000);
    await rejectsWith(resolveModel(REPO, opts(srv, cache, { retries: 0 })), /model\.safetensors/, /100000 bytes kept in .*\.incomplete/, /run again to resume/);
    assert.equal(existsSync(blob), false);
    assert.equal((await stat(`${blob}.incomplete`)).size, 100_000);
    assert.equal(existsSync(join(cache, 'hub', 'models--OpenGVLab--InternVL2-1B', 'snapshots', srv.commit, 'model.safetensors')), false);

    const n = srv.requests.length;
    const dir = await resolveModel(REPO, opts(srv, cache, { retries: 0 }));
    const gets = srv.requests.slice(n).filter((r) => r.path.startsWith('/cdn/'));
    assert.deepEqual(gets.map((r) => [r.range, r.status, r.bytesSent]), [['bytes=100000-', 206, WEIGHTS.byteLength - 100_000]]);
    assert.deepEqual(await readFile(join(dir, 'model.safetensors')), Buffer.from(WEIGHTS));
    assert.equal(existsSync(`${blob}.incomplete`), false);
  });
});

test('a dropped connection is resumed within the same call; a corrupt body is refetched', async () => {
  const cache = await tempCache();
  await withServer(async (srv) => {
    srv.cutOnce('model.safetensors', 65_536, 2);
    srv.corruptOnce('vocab.json');
    const dir = await resolveModel(REPO, opts(srv, cache));
    const cdn = srv.requestsFor('/cdn/').map((r) => r.range);
    assert.deepEqual(cdn, [null, 'bytes=65536-', 'bytes=131072-']);
    assert.deepEqual(await readFile(join(dir, 'model.safetensors')), Buffer.from(WEIGHTS));
    const vocabGets = srv.requestsFor('/vocab.json').filter((r) => r.method === 'GET');
    assert.deepEqual(vocabGets.map((r) => [r.range, r.bytesSent]), [[null, FILES['vocab.json'].byteLength], [null, FILES['vocab.json'].byteLength]]);
    assert.deepEqual(await readFile(join(dir, 'vocab.json')), Buffer.from(FILES['vocab.json']));
  });
});

test('a body that stays corrupt fails clearly and leaves no finished-looking file', async () => {
  const cache = await tempCache();
  await withServer(async (srv) => {
    srv.corruptOnce('model.safetensors', 5);
    await rejectsWith(resolveModel(REPO, opts(srv, cache)), /model\.safetensors is corrupt twice/, /expected sha256/);
    const repoDir = join(cache, 'hub', 'models--OpenGVLab--InternVL2-1B');
    const left = listTree(repoDir);
    assert.ok(!left.some((f) => f.includes(sha256(WEIGHTS)) || f.endsWith('model.safetensors')), left.join(','));
  });
});

test('progress: plain lines when stderr is not a terminal; formatting helpers', async () => {
  assert.equal(formatBytes(1_876_317_952), '1.88 GB');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatDuration(83), '1m23s');
  assert.equal(formatDuration(7300), '2h01m');
  assert.equal(formatProgressLine('model.safetensors', 500_000_000, 2_000_000_000, 10_000_000), 'model.safetensors   25% 500 MB/2.00 GB  10.0 MB/s  ETA 2m30s');
  const cache = await tempCache();
  let out = '';
  await withServer(async (srv) => {
    await resolveModel(REPO, opts(srv, cache, { progress: { write: (s: string) => (out += s), isTTY: false } }));
  });
  const lines = out.trimEnd().split('\n');
  assert.ok(lines.includes('minivl: downloading vocab.json (2.78 MB)'), out);
  assert.ok(lines.some((l) => /^minivl: downloaded vocab\.json \(2\.78 MB in \d+s, .*\/s\)$/.test(l)), out);
  assert.match(lines.at(-1)!, /^minivl: OpenGVLab\/InternVL2-1B: fetched 7 file\(s\), .* \(commit c0ffee0000\)$/);
  assert.ok(!out.includes('\r'));
});

test('progress on a terminal: one line redrawn in place with \\r, ended by a newline', () => {
  let out = '';
  const p = new DownloadProgress({ write: (s: string) => (out += s), isTTY: true, columns: 200 }, 'model.safetensors', 2_000_000_000, 0);
  p.update(500_000_000);
  p.update(600_000_000); // within the redraw interval: skipped
  p.done(2_000_000_000, true);
  const frames = out.split('\r').filter(Boolean);
  assert.equal(frames.length, 2);
  assert.match(frames[0], /^model\.safetensors +25% 500 MB\/2\.00 GB {2}.*B\/s {2}ETA .*\x1b\[K$/);
  assert.match(frames[1], /^model\.safetensors +100% 2\.00 GB\/2\.00 GB .*\x1b\[K\n$/);
});

test('Ctrl-C during a download: the process ends with a one-line error, the partial stays .incomplete and resumes', async () => {
  const cache = await tempCache();
  await withServer(async (srv) => {
    srv.stallOnce('model.safetensors', 200_000);
    const script = `import { resolveModel } from ${JSON.stringify(join(ROOT, 'src/io/hub.ts'))};
      import { reportError } from ${JSON.stringify(join(ROOT, 'src/cli/main.ts'))};
      resolveModel(${JSON.stringify(REPO)}, { endpoint: ${JSON.stringify(srv.url)}, cacheDir: ${JSON.stringify(cache)}, progress: null, handleSigint: true })
        .then(() => process.exit(0), (e) => process.exit(reportError(e)));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
    const partial = join(cache, 'hub', 'models--OpenGVLab--InternVL2-1B', 'blobs', `${sha256(WEIGHTS)}.incomplete`);
    for (let i = 0; i < 600 && !(existsSync(partial) && (await stat(partial)).size === 200_000); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await stat(partial)).size, 200_000, `no partial download appeared; stderr: ${stderr}`);
    child.kill('SIGINT');
    assert.equal(await exited, 1);
    assert.match(stderr, /^minivl: error: download of model\.safetensors interrupted; 200000 bytes kept in .*\.incomplete \(the next run resumes there\)\n$/);
    assert.equal(existsSync(partial.replace(/\.incomplete$/, '')), false);

    const n = srv.requests.length;
    const dir = await resolveModel(REPO, opts(srv, cache));
    assert.deepEqual(srv.requests.slice(n).filter((r) => r.path.startsWith('/cdn/')).map((r) => r.range), ['bytes=200000-']);
    assert.deepEqual(await readFile(join(dir, 'model.safetensors')), Buffer.from(WEIGHTS));
  });
});

test('a stalled transfer times out and is resumed instead of hanging', async () => {
  const cache = await tempCache();
  await withServer(async (srv) => {
    srv.stallOnce('model.safetensors', 50_000);
    const dir = await resolveModel(REPO, opts(srv, cache, { idleTimeoutMs: 300, retries: 1 }));
    assert.deepEqual(srv.requestsFor('/cdn/').map((r) => r.range), [null, 'bytes=50000-']);
    assert.deepEqual(await readFile(join(dir, 'model.safetensors')), Buffer.from(WEIGHTS));
    srv.clearFaults();
  });
  const cache2 = await tempCache();
  await withServer(async (srv) => {
    srv.stallOnce('model.safetensors', 50_000);
    await rejectsWith(resolveModel(REPO, opts(srv, cache2, { idleTimeoutMs: 300, retries: 0 })), /model\.safetensors/, /no data for/, /50000 bytes kept/);
  });
});
