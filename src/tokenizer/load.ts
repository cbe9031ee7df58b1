import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../errors.ts';
import { ByteLevelBpe } from './byte-level-bpe.ts';
import { ByteLevelModel } from './family-byte-level.ts';
import { LlamaModel } from './family-llama.ts';
import { SentencePieceWrapperModel } from './family-sentencepiece.ts';
import { SentencePieceBpe } from './sentencepiece-bpe.ts';
import { parseSentencePieceModel } from './sentencepiece-model.ts';
import { readTokenizerConfigObject, readTokenizerSettings } from './settings.ts';
import { WrappedTokenizer } from './tokenizer.ts';
import { TokenizerJson } from './tokenizer-json.ts';
import type { Tokenizer } from './types.ts';

/** Tokenizer classes with LlamaTokenizer's `legacy` / `add_prefix_space` semantics. */
const LLAMA_CLASSES = /^(Llama|CodeLlama)Tokenizer(Fast)?$/;

/**
 * Loads the tokenizer of a checkpoint folder from whatever files it ships. The slow-tokenizer files
 * (`vocab.json` + `merges.txt`, or `tokenizer.model`) come first because the reference always loads
 * the slow tokenizer; a folder with only `tokenizer.json` uses the fast format.
 */
export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    fail(`${dir}: no such tokenizer folder`);
  }
  if (!isDir) fail(`${dir}: not a folder (give the checkpoint folder that holds the tokenizer files)`);

  const has = (name: string) => existsSync(join(dir, name));
  const config = readTokenizerConfigObject(dir);
  const settings = readTokenizerSettings(dir, config);

  if (has('vocab.json') && has('merges.txt')) {
    const bpe = new ByteLevelBpe(join(dir, 'vocab.json'), join(dir, 'merges.txt'), settings.tokenizerClass);
    return new WrappedTokenizer(settings, new ByteLevelModel(bpe, settings), { addBosToken: false, addEosToken: false });
  }
  if (has('tokenizer.model')) {
    const file = join(dir, 'tokenizer.model');
    const model = parseSentencePieceModel(readFileSync(file), file);
    const defaults = { addBosToken: true, addEosToken: false };
    if (LLAMA_CLASSES.test(settings.tokenizerClass ?? '')) {
      return new WrappedTokenizer(settings, new LlamaModel(new SentencePieceBpe(model, 'id', file), settings), defaults);
    }
    return new WrappedTokenizer(settings, new SentencePieceWrapperModel(new SentencePieceBpe(model, 'score', file), settings), defaults);
  }
  if (has('tokenizer.json')) {
    return new TokenizerJson(join(dir, 'tokenizer.json'), config, settings);
  }
  if (has('vocab.json')) fail(`${join(dir, 'merges.txt')}: missing (vocab.json needs its merges.txt)`);
  if (has('merges.txt')) fail(`${join(dir, 'vocab.json')}: missing (merges.txt needs its vocab.json)`);
  fail(`${dir}: no tokenizer files (expected tokenizer.json, vocab.json + merges.txt, or tokenizer.model)`);
}
