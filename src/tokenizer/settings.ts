import { fail } from '../errors.ts';

/**
 * A tokenizer folder's files, read up front by load.ts through the platform (so the parsers below and
 * the tokenizer classes read no files themselves): `text(name)` is undefined for a file that is absent.
 */
export interface TokenizerFiles {
  /** The folder as given (messages). */
  readonly dir: string;
  /** `dir/name`, for messages. */
  path(name: string): string;
  text(name: string): string | undefined;
  bytes(name: string): Uint8Array | undefined;
}

/** One added token as transformers' `AddedToken` describes it. */
export interface AddedTokenSpec {
  id: number;
  content: string;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
  normalized: boolean;
  special: boolean;
}

/**
 * Everything the HF wrapper layer reads from `tokenizer_config.json`, `added_tokens.json` and
 * `special_tokens_map.json`. Flags absent from the files stay undefined so each tokenizer class can
 * apply its own class default.
 */
export interface TokenizerSettings {
  tokenizerClass?: string;
  /** Sorted by id; content is unique. */
  addedTokens: AddedTokenSpec[];
  bosToken?: string;
  eosToken?: string;
  unkToken?: string;
  padToken?: string;
  additionalSpecialTokens: string[];
  addBosToken?: boolean;
  addEosToken?: boolean;
  legacy?: boolean;
  addPrefixSpace?: boolean;
  cleanUpTokenizationSpaces?: boolean;
  splitSpecialTokens?: boolean;
}

/** transformers' named special tokens (bos, eos, unk, pad, additional), undefined where unset. */
export function namedSpecialTokens(settings: TokenizerSettings): (string | undefined)[] {
  return [settings.bosToken, settings.eosToken, settings.unkToken, settings.padToken, ...settings.additionalSpecialTokens];
}

/**
 * The ids of the named special tokens under a tokenizer's own lookup; `namedIds` are the ones that exist
 * (transformers' all_special_ids, skipped on decode).
 */
export function resolveSpecialTokens(settings: TokenizerSettings, tokenToId: (token: string) => number | undefined) {
  const idOf = (tok?: string) => (tok === undefined ? undefined : tokenToId(tok));
  const namedIds = namedSpecialTokens(settings)
    .map(idOf)
    .filter((id): id is number => id !== undefined);
  return { bosId: idOf(settings.bosToken), eosId: idOf(settings.eosToken), padId: idOf(settings.padToken), unkId: idOf(settings.unkToken), namedIds };
}

/** Parses the JSON text of file `path`; a failure is a one-line MinivlError naming the file. */
export function parseJsonText(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    fail(`${path}: malformed JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

function readJsonObject(files: TokenizerFiles, name: string): Record<string, unknown> | undefined {
  const text = files.text(name);
  if (text === undefined) return undefined;
  const path = files.path(name);
  const v = parseJsonText(text, path);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(`${path}: expected a JSON object`);
  return v as Record<string, unknown>;
}

/** A special-token entry is a string or a serialized AddedToken object. */
function tokenContent(v: unknown, file: string, key: string): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  fail(`${file}: "${key}" must be a string or an object with "content"`);
}

function optBool(obj: Record<string, unknown>, key: string, file: string): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') fail(`${file}: "${key}" must be true or false`);
  return v;
}

/** The wrapper settings of a folder; `config` is its tokenizer_config.json as `readTokenizerConfigObject` returns it. */
export function readTokenizerSettings(files: TokenizerFiles, config: Record<string, unknown>): TokenizerSettings {
  const configFile = files.path('tokenizer_config.json');
  const addedFile = files.path('added_tokens.json');
  const mapFile = files.path('special_tokens_map.json');
  const addedJson = readJsonObject(files, 'added_tokens.json');
  const specialMap = readJsonObject(files, 'special_tokens_map.json');

  const byId = new Map<number, AddedTokenSpec>();
  const decoder = config.added_tokens_decoder;
  if (decoder !== undefined) {
    if (decoder === null || typeof decoder !== 'object') fail(`${configFile}: "added_tokens_decoder" must be an object`);
    for (const [key, raw] of Object.entries(decoder as Record<string, unknown>)) {
      const id = Number(key);
      const t = raw as Record<string, unknown>;
      if (!Number.isInteger(id) || id < 0 || !t || typeof t !== 'object' || typeof t.content !== 'string' || t.content === '') {
        fail(`${configFile}: bad added_tokens_decoder entry "${key}"`);
      }
      byId.set(id, {
        id,
        content: t.content,
        lstrip: t.lstrip === true,
        rstrip: t.rstrip === true,
        singleWord: t.single_word === true,
        normalized: t.normalized === true,
        special: t.special === true,
      });
    }
  }
  // added_tokens.json (content -> id) is the older form; entries it adds are plain, non-special tokens.
  if (addedJson) {
    for (const [content, id] of Object.entries(addedJson)) {
      if (!Number.isInteger(id) || (id as number) < 0 || content === '') fail(`${addedFile}: bad entry "${content}"`);
      if (!byId.has(id as number)) {
        byId.set(id as number, { id: id as number, content, lstrip: false, rstrip: false, singleWord: false, normalized: true, special: false });
      }
    }
  }

  // special_tokens_map.json overrides the same keys of tokenizer_config.json (as in from_pretrained).
  const named = (key: string): string | undefined => {
    if (specialMap && specialMap[key] !== undefined) return tokenContent(specialMap[key], mapFile, key);
    return tokenContent(config[key], configFile, key);
  };
  const additionalRaw = specialMap?.additional_special_tokens ?? config.additional_special_tokens ?? [];
  const additionalFile = specialMap?.additional_special_tokens !== undefined ? mapFile : configFile;
  if (!Array.isArray(additionalRaw)) fail(`${additionalFile}: "additional_special_tokens" must be a list`);
  const additionalSpecialTokens = additionalRaw.map((v, i) => tokenContent(v, additionalFile, `additional_special_tokens[${i}]`) ?? '');

  const cls = config.tokenizer_class;
  if (cls !== undefined && typeof cls !== 'string') fail(`${configFile}: "tokenizer_class" must be a string`);

  const addedTokens = [...byId.values()].sort((a, b) => a.id - b.id);
  const seen = new Set<string>();
  for (const t of addedTokens) {
    if (seen.has(t.content)) fail(`${configFile}: added token "${t.content}" has two ids`);
    seen.add(t.content);
  }
  return {
    tokenizerClass: cls as string | undefined,
    addedTokens,
    bosToken: named('bos_token'),
    eosToken: named('eos_token'),
    unkToken: named('unk_token'),
    padToken: named('pad_token'),
    additionalSpecialTokens: additionalSpecialTokens.filter((s) => s !== ''),
    addBosToken: optBool(config, 'add_bos_token', configFile),
    addEosToken: optBool(config, 'add_eos_token', configFile),
    legacy: optBool(config, 'legacy', configFile),
    addPrefixSpace: optBool(config, 'add_prefix_space', configFile),
    cleanUpTokenizationSpaces: optBool(config, 'clean_up_tokenization_spaces', configFile),
    splitSpecialTokens: optBool(config, 'split_special_tokens', configFile),
  };
}

/** The raw tokenizer_config.json object ({} when absent); the tokenizer.json path also hands it to the library. */
export function readTokenizerConfigObject(files: TokenizerFiles): Record<string, unknown> {
  return readJsonObject(files, 'tokenizer_config.json') ?? {};
}
