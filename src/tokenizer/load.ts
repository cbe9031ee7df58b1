import { errnoCode, fail } from '../errors.ts';
import { host } from '../host/platform.ts';
import { ByteLevelBpe } from './byte-level-bpe.ts';
import { ByteLevelModel } from './family-byte-level.ts';
import { LlamaModel } from './family-llama.ts';
import { SentencePieceWrapperModel } from './family-sentencepiece.ts';
import { SentencePieceBpe } from './sentencepiece-bpe.ts';
import { parseSentencePieceModel } from './sentencepiece-model.ts';
import { readTokenizerConfigObject, readTokenizerSettings, type TokenizerFiles } from './settings.ts';
import { WrappedTokenizer } from './tokenizer.ts';
import { TokenizerJson } from './tokenizer-json.ts';
import type { Tokenizer } from './types.ts';

/** Tokenizer classes with LlamaTokenizer's `legacy` / `add_prefix_space` semantics. */
const LLAMA_CLASSES = /^(Llama|CodeLlama)Tokenizer(Fast)?$/;

/** The files a tokenizer folder may hold; binary ones are read as bytes. */
const TEXT_FILES = ['tokenizer_config.json', 'added_tokens.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt', 'tokenizer.json'];
const BINARY_FILES = ['tokenizer.model'];

/** Reads the tokenizer files of `dir` through the platform (absent files are left out). */
export async function readTokenizerFiles(dir: string): Promise<TokenizerFiles> {
  const { files, path } = host;
  let isDir = false;
  try {
    isDir = (await files.stat(dir)).isDirectory();
  } catch {
    fail(`${dir}: no such tokenizer folder`);
  }
  if (!isDir) fail(`${dir}: not a folder (give the checkpoint folder that holds the tokenizer files)`);
  const texts = new Map<string, string>();
  const bytes = new Map<string, Uint8Array>();
  const read = async <T>(name: string, how: (p: string) => Promise<T>, into: Map<string, T>) => {
    const p = path.join(dir, name);
    try {
      if (!(await files.stat(p)).isFile()) return;
    } catch {
      return; // absent
    }
    try {
      into.set(name, await how(p));
    } catch (e) {
      fail(`${p}: cannot read (${errnoCode(e)})`);
    }
  };
  await Promise.all([
    ...TEXT_FILES.map((n) => read(n, (p) => files.readTextFile(p), texts)),
    ...BINARY_FILES.map((n) => read(n, (p) => files.readFile(p), bytes)),
  ]);
  return { dir, path: (name) => path.join(dir, name), text: (name) => texts.get(name), bytes: (name) => bytes.get(name) };
}

/**
 * Loads the tokenizer of a checkpoint folder (a path, or files already read) from whatever files it
 * ships. The slow-tokenizer files (`vocab.json` + `merges.txt`, or `tokenizer.model`) come first
 * because the reference always loads the slow tokenizer; a folder with only `tokenizer.json` uses the
 * fast format.
 */
export async function loadTokenizer(dirOrFiles: string | TokenizerFiles): Promise<Tokenizer> {
  const f = typeof dirOrFiles === 'string' ? await readTokenizerFiles(dirOrFiles) : dirOrFiles;
  const has = (name: string) => f.text(name) !== undefined || f.bytes(name) !== undefined;
  const config = readTokenizerConfigObject(f);
  const settings = readTokenizerSettings(f, config);

  if (has('vocab.json') && has('merges.txt')) {
    const file = (name: string) => ({ path: f.path(name), text: f.text(name)! });
    const bpe = new ByteLevelBpe(file('vocab.json'), file('merges.txt'), settings.tokenizerClass);
    return new WrappedTokenizer(settings, new ByteLevelModel(bpe, settings), { addBosToken: false, addEosToken: false });
  }
  if (has('tokenizer.model')) {
    const file = f.path('tokenizer.model');
    const model = parseSentencePieceModel(f.bytes('tokenizer.model')!, file);
    const defaults = { addBosToken: true, addEosToken: false };
    if (LLAMA_CLASSES.test(settings.tokenizerClass ?? '')) {
      return new WrappedTokenizer(settings, new LlamaModel(new SentencePieceBpe(model, 'id', file), settings), defaults);
    }
    return new WrappedTokenizer(settings, new SentencePieceWrapperModel(new SentencePieceBpe(model, 'score', file), settings), defaults);
  }
  if (has('tokenizer.json')) {
    return new TokenizerJson({ path: f.path('tokenizer.json'), text: f.text('tokenizer.json')! }, config, settings);
  }
  if (has('vocab.json')) fail(`${f.path('merges.txt')}: missing (vocab.json needs its merges.txt)`);
  if (has('merges.txt')) fail(`${f.path('vocab.json')}: missing (merges.txt needs its vocab.json)`);
  fail(`${f.dir}: no tokenizer files (expected tokenizer.json, vocab.json + merges.txt, or tokenizer.model)`);
}
