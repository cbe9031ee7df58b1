/** node:path's POSIX semantics for the browser platform, where checkpoint "paths" are URLs or URL paths. */
import type { HostPath } from './types.ts';

function normalizeParts(parts: string[], absolute: boolean): string[] {
  const out: string[] = [];
  for (const p of parts) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
    } else out.push(p);
  }
  return out;
}

/** A URL keeps its origin (`https://host`) as the root; anything else is a POSIX path. */
function splitRoot(p: string): [root: string, rest: string] {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(p);
  if (m) return [m[0] + '/', p.slice(m[0].length)];
  return p.startsWith('/') ? ['/', p] : ['', p];
}

function normalize(p: string): string {
  const [root, rest] = splitRoot(p);
  const joined = normalizeParts(rest.split('/'), root !== '').join('/');
  return root + joined || (root === '' ? '.' : root);
}

export const posixPath: HostPath = {
  sep: '/',
  normalize,
  isAbsolute: (p) => splitRoot(p)[0] !== '',
  join: (...parts) => normalize(parts.filter((x) => x !== '').join('/') || '.'),
  resolve(...parts) {
    let acc = '';
    for (const p of parts) acc = posixPath.isAbsolute(p) ? p : acc === '' ? p : `${acc}/${p}`;
    return normalize(posixPath.isAbsolute(acc) ? acc : `/${acc}`);
  },
  dirname(p) {
    const n = normalize(p);
    const [root, rest] = splitRoot(n);
    const i = rest.lastIndexOf('/');
    return i <= 0 ? root || '.' : root + rest.slice(rest.startsWith('/') ? 1 : 0, i);
  },
  basename: (p) => normalize(p).split('/').pop() ?? '',
  relative(from, to) {
    const a = normalize(from).split('/').filter(Boolean);
    const b = normalize(to).split('/').filter(Boolean);
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    return [...a.slice(i).map(() => '..'), ...b.slice(i)].join('/');
  },
};
