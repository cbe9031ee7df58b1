import { mkdtempSync, readFileSync, symlinkSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ASSETS } from '../helpers/paths.ts';

export const assetDir = (k: '1b' | '2b' | '4b') => join(ASSETS, 'tokenizers', `internvl2-${k}`);

/**
 * A temporary tokenizer folder: `links` are symlinked from a shared asset folder (never copied),
 * `files` are written as given. Returns the folder and a cleanup function.
 */
export function tempTokenizerDir(links: { from: string; names: string[] }, files: Record<string, string | Uint8Array> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'minivl-tok-'));
  for (const name of links.names) symlinkSync(join(links.from, name), join(dir, name));
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
