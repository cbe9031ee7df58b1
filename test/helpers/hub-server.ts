/**
 * A real local HTTP server with the Hugging Face Hub's URL layout and headers, for hub download tests
 * (no mocks): `GET /api/models/{repo}/revision/{rev}` (listing with `sha` and `siblings`),
 * `HEAD|GET /{repo}/resolve/{rev}/{file}` (regular files: 200 with ETag = git blob sha1; LFS files: 302 to
 * `/cdn/<sha256>` with X-Linked-Etag/X-Linked-Size), X-Repo-Commit on every resolve answer, and a CDN
 * route with Range support. Switches make the next transfer of a file fail in a chosen way.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HubServerOptions {
  /** Repo id, e.g. `OpenGVLab/InternVL2-1B`. */
  repo: string;
  /** File name (may contain '/') → content. */
  files: Record<string, Uint8Array>;
  /** 40-hex commit id (default: a fixed one). */
  commit?: string;
  /** Which files are LFS (default: *.safetensors, tokenizer.model, and anything ≥ 10 MB, like the Hub). */
  isLfs?: (name: string) => boolean;
}

export interface LoggedRequest {
  method: string;
  path: string;
  range: string | null;
  authorization: string | null;
  status: number;
  /** Body bytes actually written. */
  bytesSent: number;
}

type Fault = { kind: 'cut'; after: number } | { kind: 'stall'; after: number } | { kind: 'corrupt' } | { kind: 'notFound' };

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
export const gitBlobSha1 = (b: Uint8Array) => createHash('sha1').update(`blob ${b.byteLength}\0`).update(b).digest('hex');

export class HubServer {
  url = '';
  readonly commit: string;
  readonly requests: LoggedRequest[] = [];
  private faults = new Map<string, { fault: Fault; times: number }>();
  private byHash = new Map<string, string>();
  private server = createServer((req, res) => this.handle(req, res));
  private open = new Set<ServerResponse>();

  constructor(readonly opts: HubServerOptions) {
    this.commit = opts.commit ?? 'c0ffee0000000000000000000000000000000001';
    for (const [name, data] of Object.entries(opts.files)) this.byHash.set(sha256(data), name);
  }

  async start(): Promise<this> {
    await new Promise<void>((ok) => this.server.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const r of this.open) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }

  isLfs(name: string): boolean {
    if (this.opts.isLfs) return this.opts.isLfs(name);
    return name.endsWith('.safetensors') || name === 'tokenizer.model' || this.opts.files[name].byteLength >= 10_000_000;
  }

  /** The next `times` body transfers of `file` send `after` bytes of a full-length response, then drop the connection. */
  cutOnce(file: string, after: number, times = 1): void {
    this.faults.set(file, { fault: { kind: 'cut', after }, times });
  }
  /** The next transfer of `file` sends `after` bytes, then hangs (until the client gives up or the server closes). */
  stallOnce(file: string, after: number): void {
    this.faults.set(file, { fault: { kind: 'stall', after }, times: 1 });
  }
  /** The next `times` transfers of `file` deliver a body with one byte flipped. */
  corruptOnce(file: string, times = 1): void {
    this.faults.set(file, { fault: { kind: 'corrupt' }, times });
  }
  /** `file` is listed but answers 404 (HEAD and GET) until cleared. */
  notFound(file: string): void {
    this.faults.set(file, { fault: { kind: 'notFound' }, times: Infinity });
  }
  clearFaults(): void {
    this.faults.clear();
  }

  /** Requests whose path contains `part`. */
  requestsFor(part: string): LoggedRequest[] {
    return this.requests.filter((r) => r.path.includes(part));
  }

  private takeFault(file: string, kinds: Fault['kind'][]): Fault | null {
    const f = this.faults.get(file);
    if (!f || !kinds.includes(f.fault.kind)) return null;
    if (--f.times <= 0) this.faults.delete(file);
    return f.fault;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const log: LoggedRequest = {
      method: req.method ?? 'GET',
      path,
      range: (req.headers.range as string | undefined) ?? null,
      authorization: (req.headers.authorization as string | undefined) ?? null,
      status: 0,
      bytesSent: 0,
    };
    this.requests.push(log);
    this.open.add(res);
    res.on('close', () => this.open.delete(res));
    const origWrite = res.write.bind(res);
    res.write = ((chunk: Uint8Array, ...rest: unknown[]) => {
      log.bytesSent += chunk.byteLength;
      return (origWrite as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof res.write;
    const send = (status: number, headers: Record<string, string | number>, body?: Uint8Array | string) => {
      log.status = status;
      res.writeHead(status, headers);
      if (body !== undefined && req.method !== 'HEAD') res.write(typeof body === 'string' ? Buffer.from(body) : body);
      res.end();
    };
    const repo = this.opts.repo;

    const api = `/api/models/${repo}/revision/`;
    if (path.startsWith('/api/models/')) {
      if (!path.startsWith(api)) return send(404, { 'content-type': 'application/json' }, '{"error":"Repository not found"}');
      const siblings = Object.keys(this.opts.files).map((rfilename) => ({ rfilename }));
      return send(200, { 'content-type': 'application/json' }, JSON.stringify({ id: repo, sha: this.commit, siblings }));
    }

    const resolvePrefix = `/${repo}/resolve/`;
    if (path.startsWith(resolvePrefix)) {
      const rest = path.slice(resolvePrefix.length);
      const slash = rest.indexOf('/');
      const rev = rest.slice(0, slash);
      const file = rest.slice(slash + 1);
      const data = this.opts.files[file];
      if (slash < 0 || (rev !== 'main' && rev !== this.commit) || !data || this.faults.get(file)?.fault.kind === 'notFound') {
        return send(404, { 'x-error-code': 'EntryNotFound' }, 'Entry not found');
      }
      const common = { 'x-repo-commit': this.commit };
      if (this.isLfs(file)) {
        const h = sha256(data);
        return send(302, {
          ...common,
          location: `${this.url}/cdn/${h}`,
          'x-linked-etag': `"${h}"`,
          'x-linked-size': data.byteLength,
          etag: `"${gitBlobSha1(Buffer.from('pointer'))}"`,
          'content-length': 0,
        });
      }
      return this.body(req, res, log, file, data, { ...common, etag: `W/"${gitBlobSha1(data)}"` });
    }

    if (path.startsWith('/cdn/')) {
      const file = this.byHash.get(path.slice(5));
      if (!file) return send(404, {}, 'no such object');
      return this.body(req, res, log, file, this.opts.files[file], {});
    }
    send(404, {}, 'not found');
  }

  /** A file body with Range support and the armed fault, if any. */
  private body(req: IncomingMessage, res: ServerResponse, log: LoggedRequest, file: string, data: Uint8Array, headers: Record<string, string>): void {
    let start = 0;
    let status = 200;
    const h: Record<string, string | number> = { ...headers, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    const range = log.range;
    if (range) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range);
      const end = m && m[2] ? Number(m[2]) : data.byteLength - 1;
      if (!m || Number(m[1]) >= data.byteLength || end < Number(m[1])) {
        log.status = 416;
        res.writeHead(416, { 'content-range': `bytes */${data.byteLength}` });
        return void res.end();
      }
      start = Number(m[1]);
      data = data.subarray(0, end + 1);
      status = 206;
      h['content-range'] = `bytes ${start}-${end}/${this.opts.files[file].byteLength}`;
    }
    const part = data.subarray(start);
    h['content-length'] = part.byteLength;
    log.status = status;
    res.writeHead(status, h);
    if (req.method === 'HEAD') return void res.end();
    const fault = this.takeFault(file, ['cut', 'stall', 'corrupt']);
    if (fault?.kind === 'cut' || fault?.kind === 'stall') {
      res.flushHeaders();
      res.write(part.subarray(0, fault.after), () => {
        if (fault.kind === 'cut') setTimeout(() => res.destroy(), 20);
      });
      return;
    }
    if (fault?.kind === 'corrupt') {
      const bad = Buffer.from(part);
      bad[bad.length >> 1] ^= 0xff;
      res.write(bad);
      return void res.end();
    }
    res.write(part);
    res.end();
  }
}

export async function startHubServer(opts: HubServerOptions): Promise<HubServer> {
  return new HubServer(opts).start();
}
