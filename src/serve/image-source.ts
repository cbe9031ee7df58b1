/**
 * Where a request's `image_url` bytes come from, under the server's policy:
 *   data:   always (base64 or percent-encoded);
 *   file:   only under --allow-dir (the real path, symlinks resolved, must lie inside it);
 *   http(s) only with --allow-remote-images, and never to loopback, private, link-local or other
 *           non-public addresses — checked on the addresses DNS returns, and the connection goes to the
 *           checked address (no second lookup a rebinding DNS could answer differently); redirects are
 *           followed (≤ 3) with the same checks; size and time limits.
 * Fetching is hand-written on node:http(s) because the check must sit inside the socket's lookup,
 * which fetch() does not expose.
 */
import { lookup } from 'node:dns/promises';
import { realpath, open } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { badRequest } from './errors.ts';

export interface ImagePolicy {
  /** Real path of the folder `file:` URLs may read from; null = `file:` refused. */
  allowDir: string | null;
  allowRemote: boolean;
  /** Largest image accepted, in bytes (data:, file: and remote alike). */
  maxBytes: number;
  /** Time limit of one remote fetch, redirects included. */
  timeoutMs: number;
}

export const DEFAULT_IMAGE_POLICY: ImagePolicy = { allowDir: null, allowRemote: false, maxBytes: 20 * 1024 * 1024, timeoutMs: 10_000 };

const MAX_REDIRECTS = 3;

/** Addresses a server-side fetch must never reach (RFC 6890 special-purpose blocks and friends). */
const BLOCKED = (() => {
  const b = new BlockList();
  for (const [net, prefix] of [
    ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
    ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
    ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
  ] as const) b.addSubnet(net, prefix, 'ipv4');
  for (const [net, prefix] of [
    ['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8], ['2001:db8::', 32], ['64:ff9b::', 96], ['100::', 64],
  ] as const) b.addSubnet(net, prefix, 'ipv6');
  return b;
})();

/** True when `address` is loopback, private, link-local or otherwise not a public unicast address. */
export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address); // IPv4-mapped: judge the IPv4 address
  if (mapped) return BLOCKED.check(mapped[1]!, 'ipv4');
  return BLOCKED.check(address, 'ipv6');
}

/** The bytes of one image_url; `param` names the field in errors. */
export async function loadImageUrl(url: string, policy: ImagePolicy, param: string, signal?: AbortSignal): Promise<Uint8Array> {
  if (url.startsWith('data:')) return decodeDataUrl(url, policy, param);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badRequest(`${param}: not a valid URL (use a data: URL with the image bytes)`, param, 'invalid_image_url');
  }
  if (parsed.protocol === 'file:') return readAllowedFile(parsed, policy, param);
  if (parsed.protocol === 'http:' || parsed.protocol === 'https:') {
    if (!policy.allowRemote) throw badRequest(`${param}: remote image URLs are disabled on this server (start it with --allow-remote-images, or send a data: URL)`, param, 'image_url_forbidden');
    return fetchRemote(parsed, policy, param, signal);
  }
  throw badRequest(`${param}: unsupported URL scheme '${parsed.protocol}' (data:, file: or http(s):)`, param, 'invalid_image_url');
}

function decodeDataUrl(url: string, policy: ImagePolicy, param: string): Uint8Array {
  const comma = url.indexOf(',');
  if (comma < 0) throw badRequest(`${param}: malformed data: URL (no ',')`, param, 'invalid_image_url');
  const meta = url.slice(5, comma);
  const payload = url.slice(comma + 1);
  const isBase64 = /;base64$/i.test(meta);
  if (isBase64 && !/^[A-Za-z0-9+/_-]*={0,2}$/.test(payload.replace(/\s+/g, ''))) {
    throw badRequest(`${param}: the data: URL is not valid base64`, param, 'invalid_image_url');
  }
  let bytes: Uint8Array;
  try {
    bytes = isBase64 ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload), 'latin1');
  } catch {
    throw badRequest(`${param}: malformed data: URL`, param, 'invalid_image_url');
  }
  if (bytes.byteLength === 0) throw badRequest(`${param}: the data: URL holds no bytes`, param, 'invalid_image');
  if (bytes.byteLength > policy.maxBytes) throw tooLarge(param, policy);
  return bytes;
}

async function readAllowedFile(u: URL, policy: ImagePolicy, param: string): Promise<Uint8Array> {
  if (!policy.allowDir) throw badRequest(`${param}: file: URLs are disabled on this server (start it with --allow-dir DIR)`, param, 'image_url_forbidden');
  let real: string;
  try {
    real = await realpath(fileURLToPath(u));
  } catch {
    throw badRequest(`${param}: no such file under the allowed folder`, param, 'invalid_image_url');
  }
  const root = policy.allowDir.endsWith(sep) ? policy.allowDir : policy.allowDir + sep;
  if (!real.startsWith(root)) throw badRequest(`${param}: the file is outside the allowed folder`, param, 'image_url_forbidden');
  const fh = await open(real, 'r');
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw badRequest(`${param}: not a regular file`, param, 'invalid_image_url');
    if (st.size > policy.maxBytes) throw tooLarge(param, policy);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

const tooLarge = (param: string, policy: ImagePolicy) =>
  badRequest(`${param}: the image is larger than the server's limit of ${policy.maxBytes} bytes`, param, 'image_too_large');

/** A socket lookup that resolves the host itself and refuses every non-public address it gets. */
function guardedLookup(onRefused: (address: string) => void): LookupFunction {
  return (hostname, _options, callback) => {
    lookup(hostname, { all: true, verbatim: true }).then(
      (addrs) => {
        const bad = addrs.find((a) => isBlockedAddress(a.address));
        if (bad || addrs.length === 0) {
          onRefused(bad?.address ?? hostname);
          callback(Object.assign(new Error('refused address'), { code: 'EREFUSED' }), '', 0);
          return;
        }
        callback(null, addrs[0]!.address, addrs[0]!.family);
      },
      (e: NodeJS.ErrnoException) => callback(e, '', 0),
    );
  };
}

async function fetchRemote(first: URL, policy: ImagePolicy, param: string, clientSignal?: AbortSignal): Promise<Uint8Array> {
  const signal = clientSignal ? AbortSignal.any([clientSignal, AbortSignal.timeout(policy.timeoutMs)]) : AbortSignal.timeout(policy.timeoutMs);
  let url = first;
  for (let hop = 0; ; hop++) {
    // A literal IP skips DNS: check it here.
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && isBlockedAddress(host)) throw refusedAddress(param, host);
    let refused: string | null = null;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
        method: 'GET',
        signal,
        lookup: guardedLookup((a) => (refused = a)),
        headers: { accept: 'image/*', 'user-agent': 'minivl-serve' },
      });
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    }).catch((e: Error) => {
      if (refused) throw refusedAddress(param, refused);
      if (signal.aborted) throw badRequest(`${param}: fetching the image took longer than ${policy.timeoutMs} ms`, param, 'image_fetch_timeout');
      throw badRequest(`${param}: could not fetch the image (${(e as NodeJS.ErrnoException).code ?? e.message})`, param, 'image_fetch_failed');
    });
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      if (hop >= MAX_REDIRECTS) throw badRequest(`${param}: too many redirects`, param, 'image_fetch_failed');
      url = new URL(res.headers.location, url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badRequest(`${param}: redirected to a non-http(s) URL`, param, 'image_url_forbidden');
      continue;
    }
    if (status !== 200) {
      res.resume();
      throw badRequest(`${param}: fetching the image answered HTTP ${status}`, param, 'image_fetch_failed');
    }
    const declared = Number(res.headers['content-length'] ?? NaN);
    if (declared > policy.maxBytes) {
      res.destroy();
      throw tooLarge(param, policy);
    }
    const parts: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        total += chunk.byteLength;
        if (total > policy.maxBytes) {
          res.destroy();
          throw tooLarge(param, policy);
        }
        parts.push(chunk);
      }
    } catch (e) {
      if (e instanceof Error && e.name === 'ApiError') throw e;
      throw badRequest(`${param}: the image download failed or took longer than ${policy.timeoutMs} ms`, param, 'image_fetch_failed');
    }
    return Buffer.concat(parts);
  }
}

const refusedAddress = (param: string, address: string) =>
  badRequest(`${param}: the image URL resolves to a non-public address (${address}); the server fetches only public addresses`, param, 'image_url_forbidden');
