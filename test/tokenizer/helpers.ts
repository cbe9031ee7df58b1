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

/** The fast-tokenizer form of the 1b files (what transformers writes for Qwen2). */
export function qwen2TokenizerJson(): string {
  const dir = assetDir('1b');
  const config = readJson(join(dir, 'tokenizer_config.json'));
  const merges = readFileSync(join(dir, 'merges.txt'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#version'));
  const addedTokens = Object.entries(config.added_tokens_decoder).map(([id, t]) => ({ id: Number(id), ...(t as object) }));
  const pattern = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  return JSON.stringify({
    version: '1.0',
    added_tokens: addedTokens,
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: { type: 'BPE', vocab: readJson(join(dir, 'vocab.json')), merges, byte_fallback: false, ignore_merges: false },
  });
}
