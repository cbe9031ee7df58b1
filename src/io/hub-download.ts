/**
 * One file from the Hub into the blob store: metadata by HEAD (ETag/X-Linked-Etag, size, commit,
 * LFS redirect), body to `blobs/<etag>.incomplete` with HTTP Range resume, verified (size, and the
 * hash the ETag names: sha256 for LFS files, git blob sha1 for the rest), then renamed into place.
 * A finished-looking blob therefore always holds verified bytes; an interrupted transfer survives only
 * as `.incomplete`, which the next attempt resumes.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { MinivlError, fail } from '../errors.ts';
import { writeFully } from './atomic-write.ts';
import { DownloadProgress, type ProgressStream } from './hub-progress.ts';

export interface FileMeta {
  /** Blob name: the sha256 (LFS) or git sha1 (regular file) from the ETag headers, unquoted. */
  etag: string;
  /** Expected size in bytes, or null when the hub did not say. */
  size: number | null;
  /** X-Repo-Commit, when sent. */
  commit: string | null;
  /** Where to GET the bytes (the CDN URL for LFS files, else the resolve URL). */
  url: string;
}

export interface TransferContext {
  /** Headers for hub requests (Authorization). Sent to the CDN only when it is the same origin. */
  headers: Record<string, string>;
  endpointOrigin: string;
  signal: AbortSignal;
  /** Automatic resume attempts after a dropped connection within this call. */
  retries: number;
  /** Abort a request when no bytes arrive for this long. */
  idleTimeoutMs: number;
  progress: ProgressStream | null;
}

const SHA256 = /^[0-9a-f]{64}$/;
const SHA1 = /^[0-9a-f]{40}$/;

/** `W/"abc"` or `"abc"` → `abc`. */
function normalizeEtag(v: string | null): string | null {
  if (!v) return null;
  return v.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

function headersFor(url: string, ctx: TransferContext, extra: Record<string, string> = {}): Record<string, string> {
  // Ask for identity encoding: Content-Length must be the file size, and Range offsets file offsets.
  const h: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'minivl', ...extra };
  if (new URL(url).origin === ctx.endpointOrigin) Object.assign(h, ctx.headers);
  return h;
}

/** Network-level failure (connection refused/reset, DNS, timeout) — as opposed to an HTTP status. */
export class NetworkError extends Error {}

async function request(url: string, init: RequestInit, ctx: TransferContext): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: 'manual', signal: init.signal ?? ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) throw e;
    throw new NetworkError(describeCause(e));
  }
}

export function describeCause(e: unknown): string {
  const err = e as Error & { cause?: Error & { code?: string } };
  const cause = err?.cause;
  return cause?.code ?? cause?.message ?? err?.message ?? String(e);
}

/**
 * HEAD on the resolve URL without following the LFS redirect (its headers carry the metadata);
 * relative redirects (renamed repos) are followed, as huggingface_hub does.
 */
export async function fetchFileMeta(resolveUrl: string, file: string, ctx: TransferContext): Promise<FileMeta> {
  let url = resolveUrl;
  for (let hop = 0; hop < 5; hop++) {
    const res = await request(url, { method: 'HEAD', headers: headersFor(url, ctx) }, ctx);
    const h = res.headers;
    const location = h.get('location');
    const isRedirect = res.status >= 300 && res.status < 400 && location;
    if (isRedirect && location.startsWith('/')) {
      url = new URL(location, url).toString();
      continue;
    }
    if (!res.ok && !isRedirect) {
      const why = res.status === 404 ? 'not found' : res.status === 401 || res.status === 403 ? 'access denied' : `HTTP ${res.status}`;
      fail(`${file}: ${why} on the hub (${resolveUrl})`);
    }
    const etag = normalizeEtag(h.get('x-linked-etag') ?? h.get('etag'));
    if (!etag || !/^[\w.-]+$/.test(etag)) fail(`${file}: the hub sent no usable ETag for ${resolveUrl}`);
    const sizeHeader = h.get('x-linked-size') ?? h.get('content-length');
    const size = sizeHeader !== null && /^\d+$/.test(sizeHeader) ? Number(sizeHeader) : null;
    return {
      etag,
      size,
      commit: h.get('x-repo-commit'),
      url: isRedirect ? new URL(location, url).toString() : url,
    };
  }
  fail(`${file}: too many redirects from ${resolveUrl}`);
}

/** Incremental hash check for the kind of hash the ETag is. */
class Verifier {
  private hash: Hash | null;
  constructor(
    readonly etag: string,
    readonly size: number | null,
  ) {
    if (SHA256.test(etag)) this.hash = createHash('sha256');
    else if (SHA1.test(etag) && size !== null) {
      // A non-LFS file's ETag is its git blob id: sha1("blob <size>\0" + content).
      this.hash = createHash('sha1');
      this.hash.update(`blob ${size}\0`);
    } else this.hash = null;
  }
  update(b: Uint8Array): void {
    this.hash?.update(b);
  }
  /** null when fine, else a description of the mismatch. */
  check(): string | null {
    if (!this.hash) return null;
    const got = this.hash.digest('hex');
    return got === this.etag ? null : `expected ${SHA256.test(this.etag) ? 'sha256' : 'git sha1'} ${this.etag}, got ${got}`;
  }
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

async function hashExisting(path: string, v: Verifier): Promise<void> {
  for await (const chunk of createReadStream(path)) v.update(chunk as Buffer);
}

class Interrupted extends Error {}

/**
 * Downloads `meta` into `blobPath` (via `blobPath.incomplete`). Resumes an existing partial, retries a
 * dropped connection with Range up to `ctx.retries` times, and refetches once from scratch on a hash
 * mismatch. Throws a one-line MinivlError on failure; a partial stays only as `.incomplete`.
 */
export async function downloadBlob(file: string, meta: FileMeta, blobPath: string, ctx: TransferContext): Promise<number> {
  const partial = `${blobPath}.incomplete`;
  let refetched = false;
  let networkRetries = ctx.retries;
  for (;;) {
    let have = (await sizeOf(partial)) ?? 0;
    if (meta.size !== null && have > meta.size) {
      await unlink(partial);
      have = 0;
    }
    const verifier = new Verifier(meta.etag, meta.size);
    if (have > 0) await hashExisting(partial, verifier);
    let outcome: 'done' | 'retry';
    try {
      outcome = meta.size !== null && have === meta.size ? 'done' : await transfer(file, meta, partial, have, verifier, ctx);
    } catch (e) {
      if (e instanceof NetworkError && networkRetries > 0 && !ctx.signal.aborted) {
        networkRetries--;
        continue;
      }
      const now = (await sizeOf(partial)) ?? 0;
      if (e instanceof Interrupted || ctx.signal.aborted) {
        fail(`download of ${file} interrupted; ${now} bytes kept in ${partial} (the next run resumes there)`);
      }
      if (e instanceof NetworkError) {
        fail(`download of ${file} from ${new URL(meta.url).origin} failed (${e.message}); ${now} bytes kept in ${partial}, run again to resume`);
      }
      throw e;
    }
    if (outcome === 'retry') continue;
    const size = (await sizeOf(partial)) ?? 0;
    if (meta.size !== null && size < meta.size) {
      // The body ended early without a transport error: resume like a dropped connection.
      if (networkRetries-- > 0 && !ctx.signal.aborted) continue;
      fail(`download of ${file} ended early at ${size} of ${meta.size} bytes; kept in ${partial}, run again to resume`);
    }
    const bad = meta.size !== null && size !== meta.size ? `size ${size} bytes, expected ${meta.size}` : verifier.check();
    if (bad) {
      await unlink(partial).catch(() => {});
      if (!refetched) {
        refetched = true;
        continue;
      }
      fail(`download of ${file} is corrupt twice (${bad}); removed it, run again to retry`);
    }
    await rename(partial, blobPath);
    return size;
  }
}

/**
 * One GET from `have` onwards, appended to `partial`. Returns 'retry' when the server ignored or refused
 * the range in a way that needs a fresh start (the partial was reset). NetworkError on a dropped connection.
 */
async function transfer(
  file: string,
  meta: FileMeta,
  partial: string,
  have: number,
  verifier: Verifier,
  ctx: TransferContext,
): Promise<'done' | 'retry'> {
  const local = new AbortController();
  const onAbort = () => local.abort(new Interrupted('aborted'));
  ctx.signal.addEventListener('abort', onAbort);
  let idle: NodeJS.Timeout | undefined;
  let idleFired = false;
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      idleFired = true;
      local.abort(new Error('idle timeout'));
    }, ctx.idleTimeoutMs);
  };
  const fh = await open(partial, have > 0 ? 'r+' : 'w');
  let progress: DownloadProgress | null = null;
  let done = have;
  try {
    armIdle();
    const extra: Record<string, string> = have > 0 ? { range: `bytes=${have}-` } : {};
    let res: Response;
    try {
      res = await request(meta.url, { method: 'GET', headers: headersFor(meta.url, ctx, extra), signal: local.signal }, ctx);
    } catch (e) {
      if (ctx.signal.aborted) throw new Interrupted('aborted');
      if (idleFired) throw new NetworkError('no response (timeout)');
      throw e;
    }
    if (have > 0 && res.status === 200) {
      // Range ignored: start over with this full response.
      await fh.truncate(0);
      await res.body?.cancel();
      return 'retry';
    }
    if (res.status === 416) {
      await res.body?.cancel();
      await fh.truncate(0);
      return 'retry';
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      if (res.status >= 500) throw new NetworkError(`HTTP ${res.status}`);
      fail(`${file}: HTTP ${res.status} from ${meta.url}`);
    }
    if (res.status === 206) {
      const m = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
      if (!m || Number(m[1]) !== have) {
        await res.body?.cancel();
        await fh.truncate(0);
        return 'retry';
      }
    }
    progress = new DownloadProgress(ctx.progress, file, meta.size, have);
    if (!res.body) fail(`${file}: empty response from ${meta.url}`);
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        armIdle();
        await writeFully(fh, chunk, done);
        verifier.update(chunk);
        done += chunk.byteLength;
        progress.update(done);
      }
    } catch (e) {
      if (e instanceof MinivlError) throw e;
      if (ctx.signal.aborted) throw new Interrupted('aborted');
      throw new NetworkError(idleFired ? `no data for ${Math.round(ctx.idleTimeoutMs / 1000)}s` : describeCause(e));
    }
    progress.done(done, true);
    progress = null;
    return 'done';
  } finally {
    clearTimeout(idle);
    ctx.signal.removeEventListener('abort', onAbort);
    progress?.done(done, false);
    await fh.close();
  }
}
