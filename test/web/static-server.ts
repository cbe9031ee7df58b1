// A static file server for the browser tests: URL prefixes mapped to folders, HEAD and Range requests
// (the page reads safetensors headers by range), and the cross-origin isolation headers that
// onnxruntime-web's WASM threads need.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.map': 'application/json' };

/** Static files with HEAD, Range and the isolation headers WASM threads need. */
export function serveStatic(roots: Record<string, string>): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    const prefix = Object.keys(roots).sort((a, b) => b.length - a.length).find((p) => path.startsWith(p));
    const root = prefix === undefined ? null : roots[prefix]!;
    let file = root === null ? '' : resolve(root, './' + path.slice(prefix!.length));
    if (file && existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    if (root === null || !(file === root || file.startsWith(root + sep)) || !existsSync(file)) return res.writeHead(404).end();
    const st = statSync(file);
    const headers = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'last-modified': st.mtime.toUTCString(), 'accept-ranges': 'bytes' };
    const m = /^bytes=(\d+)-(\d+)?$/.exec(req.headers.range ?? '');
    if (m) {
      const start = Number(m[1]);
      const end = Math.min(m[2] === undefined ? st.size - 1 : Number(m[2]), st.size - 1);
      res.writeHead(206, { ...headers, 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${st.size}` });
      return req.method === 'HEAD' ? res.end() : createReadStream(file, { start, end }).pipe(res);
    }
    res.writeHead(200, { ...headers, 'content-length': st.size });
    return req.method === 'HEAD' ? res.end() : createReadStream(file).pipe(res);
  });
}

