/**
 * `--model DIR|Org/Name`: a local folder is used as is; a Hub id is resolved to a snapshot folder in
 * the local cache, downloading what is missing. The cache has the Hugging Face layout
 * (`models--Org--Name/{blobs/<etag>, snapshots/<commit>/<file> → ../../blobs/<etag>, refs/<revision>}`),
 * so its folders are checkpoint folders that `openCheckpoint` reads directly.
 *
 * Settings (option → environment → default):
 * - cache root: `cacheDir` → MINIVL_CACHE → `$XDG_CACHE_HOME/minivl` or `~/.cache/minivl`; hub files live in `<root>/hub`.
 * - endpoint: `endpoint` → MINIVL_HUB_ENDPOINT → HF_ENDPOINT → https://huggingface.co
 * - offline: `offline` → MINIVL_OFFLINE / HF_HUB_OFFLINE (1/true/yes/on): use the cache only.
 * - token: `token` → HF_TOKEN (sent to the endpoint only, never to the CDN of another origin).
 */
import { existsSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, stat, symlink, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fail } from '../errors.ts';
import { writeTextAtomic } from './atomic-write.ts';
import { isFile } from './safetensors.ts';
import { NetworkError, describeCause, downloadBlob, fetchFileMeta, type TransferContext } from './hub-download.ts';
import { formatBytes, type ProgressStream } from './hub-progress.ts';

const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface HubOptions {
  /** minivl cache root (hub files go in `<cacheDir>/hub`). */
  cacheDir?: string;
  /** Hub base URL, e.g. a mirror or a test server. */
  endpoint?: string;
  /** Branch, tag or commit. Default `main`; `Org/Name@rev` in the id also sets it. */
  revision?: string;
  /** Use only the cache; never touch the network. */
  offline?: boolean;
  /** Bearer token for gated/private repos. */
  token?: string;
  /** Where progress goes (the CLI passes process.stderr); default null = silent, as a library should be. */
  progress?: ProgressStream | null;
  /** Abort the download (the partial stays as `.incomplete`). */
  signal?: AbortSignal;
  /** Abort on Ctrl-C (SIGINT) instead of dying mid-write. Default false: a library installs no signal handler; pass `signal` instead. */
  handleSigint?: boolean;
  /** Automatic resume attempts per file after a dropped connection. Default 3. */
  retries?: number;
  /** Abort a request that sends nothing for this long. Default 60 s. */
  idleTimeoutMs?: number;
  /** Which repository files to fetch (default: `isCheckpointFile`). */
  fileFilter?: (name: string) => boolean;
  /** Environment to read settings from (tests). Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface HubSettings {
  hubDir: string;
  endpoint: string;
  offline: boolean;
  token: string | null;
}

const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());

export function hubSettings(opts: HubOptions = {}): HubSettings {
  const env = opts.env ?? process.env;
  const root =
    opts.cacheDir ?? (env.MINIVL_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'minivl'));
  const endpoint = (opts.endpoint ?? (env.MINIVL_HUB_ENDPOINT || env.HF_ENDPOINT || DEFAULT_ENDPOINT)).replace(/\/+$/, '');
  try {
    const u = new URL(endpoint);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error();
  } catch {
    fail(`hub endpoint '${endpoint}' is not an http(s) URL (MINIVL_HUB_ENDPOINT)`);
  }
  return {
    hubDir: join(resolve(root), 'hub'),
    endpoint,
    offline: opts.offline ?? (truthy(env.MINIVL_OFFLINE) || truthy(env.HF_HUB_OFFLINE)),
    token: opts.token ?? (env.HF_TOKEN || null),
  };
}

const REPO_ID = /^([A-Za-z0-9][\w.-]*)\/([A-Za-z0-9][\w.-]*)(?:@([\w./-]+))?$/;

/** `Org/Name` or `Org/Name@rev` → parts; null when the string is not a Hub id. */
export function parseRepoId(s: string): { repo: string; revision: string | null } | null {
  const m = REPO_ID.exec(s);
  if (!m || m[1].includes('..') || m[2].includes('..') || m[2].endsWith('.git')) return null;
  return { repo: `${m[1]}/${m[2]}`, revision: m[3] ?? null };
}

/** The files a TS runtime needs (checkpoints.md §1): configs, weights, tokenizer; not *.py or examples. */
export function isCheckpointFile(name: string): boolean {
  if (name.includes('/')) return false;
  return (
    name === 'config.json' ||
    name === 'generation_config.json' ||
    name.endsWith('.safetensors') ||
    name === 'model.safetensors.index.json' ||
    [
      'tokenizer.json',
      'tokenizer.model',
      'tokenizer_config.json',
      'vocab.json',
      'merges.txt',
      'added_tokens.json',
      'special_tokens_map.json',
    ].includes(name)
  );
}

/** `<hubDir>/models--Org--Name`. */
export function repoCacheDir(repo: string, hubDir: string): string {
  return join(hubDir, `models--${repo.replace(/\//g, '--')}`);
}

const COMMIT = /^[0-9a-f]{40}$/;

/** The cached snapshot folder for `revision`, or null when there is no complete one. */
export async function cachedSnapshot(repoDir: string, revision: string): Promise<string | null> {
  let commit: string | null = COMMIT.test(revision) ? revision : null;
  if (!commit) {
    try {
      commit = (await readFile(join(repoDir, 'refs', revision), 'utf8')).trim();
    } catch {
      return null;
    }
  }
  if (!COMMIT.test(commit)) return null;
  const snap = join(repoDir, 'snapshots', commit);
  // refs/<rev> is written only after every file arrived; a commit given directly needs at least config.json.
  return existsSync(join(snap, 'config.json')) ? snap : null;
}

/**
 * `dirOrRepo` as a local checkpoint folder: an existing folder is returned as is (absolute); a Hub id
 * (`Org/Name[@rev]`) is resolved through the cache, downloading missing files unless offline.
 */
export async function resolveModel(dirOrRepo: string, opts: HubOptions = {}): Promise<string> {
  if (existsSync(dirOrRepo)) {
    if (!statSync(dirOrRepo).isDirectory()) fail(`model '${dirOrRepo}' is a file; expected a checkpoint folder or a hub id (Org/Name)`);
    return resolve(dirOrRepo);
  }
  const id = parseRepoId(dirOrRepo);
  if (!id) fail(`model '${dirOrRepo}': no such folder, and not a hub id of the form Org/Name`);
  return downloadModel(id.repo, { ...opts, revision: opts.revision ?? id.revision ?? undefined });
}

interface ListedRepo {
  commit: string;
  files: string[];
}

async function listRepo(repo: string, revision: string, s: HubSettings, signal: AbortSignal): Promise<ListedRepo> {
  const url = `${s.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: 'application/json', 'user-agent': 'minivl', ...(s.token ? { authorization: `Bearer ${s.token}` } : {}) },
      signal,
    });
  } catch (e) {
    if (signal.aborted) fail(`listing ${repo} on ${s.endpoint} was interrupted`);
    throw new NetworkError(describeCause(e));
  }
  const at = revision === 'main' ? '' : ` at revision '${revision}'`;
  if (res.status === 404 || res.status === 401) {
    fail(`model '${repo}'${at} is not a local folder and not found on ${s.endpoint} (HTTP ${res.status}; private or gated repos need HF_TOKEN)`);
  }
  if (!res.ok) fail(`listing model '${repo}' on ${s.endpoint} failed (HTTP ${res.status})`);
  let body: { sha?: unknown; siblings?: unknown };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    fail(`listing model '${repo}' on ${s.endpoint}: the answer is not JSON`);
  }
  const siblings = body?.siblings;
  if (typeof body?.sha !== 'string' || !COMMIT.test(body.sha) || !Array.isArray(siblings)) {
    fail(`listing model '${repo}' on ${s.endpoint}: the answer lacks a commit sha or a file list`);
  }
  const files = siblings.map((x) => (x as { rfilename?: unknown })?.rfilename).filter((f): f is string => typeof f === 'string');
  return { commit: body.sha, files };
}

/** Snapshot entry → blob: a relative symlink (what the HF cache uses), or a copy where links are refused. */
async function linkIntoSnapshot(blobPath: string, target: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  await unlink(tmp).catch(() => {});
  try {
    await symlink(relative(dirname(target), blobPath), tmp);
  } catch {
    await copyFile(blobPath, tmp);
  }
  await rename(tmp, target);
}

async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeTextAtomic(path, text);
}

/**
 * Makes `snapshots/<commit>` of `repo` complete in the cache and returns it. Offline: the cached
 * snapshot of the revision or a one-line error. Online but unreachable: falls back to the cache (with a
 * note on the progress stream) when it has the revision.
 */
export async function downloadModel(repo: string, opts: HubOptions = {}): Promise<string> {
  const s = hubSettings(opts);
  const revision = opts.revision ?? 'main';
  const repoDir = repoCacheDir(repo, s.hubDir);
  const log = opts.progress ?? null;
  const cached = await cachedSnapshot(repoDir, revision);
  const at = revision === 'main' ? '' : `@${revision}`;
  if (s.offline) {
    if (cached) return cached;
    fail(`model '${repo}${at}' is not in the cache (${s.hubDir}) and offline mode is on (MINIVL_OFFLINE/HF_HUB_OFFLINE); connect once to download it`);
  }

  // One controller for everything: the caller's signal and Ctrl-C both abort the transfer in flight.
  const ac = new AbortController();
  const onCallerAbort = () => ac.abort();
  opts.signal?.addEventListener('abort', onCallerAbort);
  if (opts.signal?.aborted) ac.abort();
  const onSigint = () => ac.abort();
  const sigint = opts.handleSigint ?? false;
  if (sigint) process.once('SIGINT', onSigint);
  try {
    let listed: ListedRepo;
    try {
      listed = await listRepo(repo, revision, s, ac.signal);
    } catch (e) {
      if (!(e instanceof NetworkError)) throw e;
      if (cached) {
        log?.write(`minivl: cannot reach ${s.endpoint} (${e.message}); using the cached ${repo}${at}\n`);
        return cached;
      }
      fail(`cannot reach ${s.endpoint} to download '${repo}' (${e.message}); check the network or MINIVL_HUB_ENDPOINT`);
    }
    const filter = opts.fileFilter ?? isCheckpointFile;
    const wanted = listed.files.filter(filter);
    if (!wanted.includes('config.json')) fail(`model '${repo}' on ${s.endpoint} has no config.json; is it a checkpoint repo?`);
    if (!wanted.some((f) => f.endsWith('.safetensors'))) {
      fail(`model '${repo}' on ${s.endpoint} has no .safetensors weights (only .bin?); minivl reads safetensors`);
    }

    const snapDir = join(repoDir, 'snapshots', listed.commit);
    const blobsDir = join(repoDir, 'blobs');
    await mkdir(blobsDir, { recursive: true });
    const ctx: TransferContext = {
      headers: s.token ? { authorization: `Bearer ${s.token}` } : {},
      endpointOrigin: new URL(s.endpoint).origin,
      signal: ac.signal,
      retries: opts.retries ?? 3,
      idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
      progress: log,
    };
    let fetchedBytes = 0;
    let fetchedFiles = 0;
    for (const file of wanted) {
      const target = join(snapDir, file);
      if (await isFile(target)) continue; // follows the symlink: present only when its blob is
      if (ac.signal.aborted) fail(`download of '${repo}' interrupted`);
      // Resolve by commit, not branch, so every file comes from the same revision.
      const resolveUrl = `${s.endpoint}/${repo}/resolve/${listed.commit}/${file.split('/').map(encodeURIComponent).join('/')}`;
      let meta;
      try {
        meta = await fetchFileMeta(resolveUrl, file, ctx);
      } catch (e) {
        if (e instanceof NetworkError) fail(`cannot reach ${s.endpoint} for ${repo}/${file} (${e.message}); run again to continue`);
        if (ac.signal.aborted) fail(`download of '${repo}' interrupted`);
        throw e;
      }
      if (meta.commit && meta.commit !== listed.commit) {
        fail(`${repo}/${file}: the hub answered for commit ${meta.commit}, expected ${listed.commit}`);
      }
      const blobPath = join(blobsDir, meta.etag);
      const blob = await stat(blobPath).catch(() => null);
      if (!(meta.size !== null && blob?.isFile() && blob.size === meta.size)) {
        fetchedBytes += await downloadBlob(file, meta, blobPath, ctx);
        fetchedFiles++;
      }
      await linkIntoSnapshot(blobPath, target);
    }
    if (revision !== listed.commit) await writeAtomic(join(repoDir, 'refs', revision), listed.commit);
    if (fetchedFiles > 0) {
      log?.write(`minivl: ${repo}${at}: fetched ${fetchedFiles} file(s), ${formatBytes(fetchedBytes)} (commit ${listed.commit.slice(0, 10)})\n`);
    }
    return snapDir;
  } finally {
    if (sigint) process.removeListener('SIGINT', onSigint);
    opts.signal?.removeEventListener('abort', onCallerAbort);
  }
}
