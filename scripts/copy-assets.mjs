// Part of `npm run build`: the files src/ reads at run time that tsc does not emit — the web page the
// server sends (src/serve/web, read next to the compiled server.js) — copied into dist/.
import { cpSync } from 'node:fs';

const root = new URL('..', import.meta.url);
for (const dir of ['serve/web']) cpSync(new URL(`src/${dir}`, root), new URL(`dist/${dir}`, root), { recursive: true });
