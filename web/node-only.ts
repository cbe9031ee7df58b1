/**
 * What the Node-only parts of the engine become in the browser build (web/build.mjs maps the
 * converted-weight cache, file-read embedding rows and LoRA adapter modules here): the fp32 path of a tab never calls them;
 * asking for them says why in one line.
 */
import { fail } from '../src/errors.ts';

const notHere = (what: string) => (): never => fail(`${what} needs the Node build of minivl (the browser page runs fp32 checkpoints)`);

export const cacheEntryDir = notHere('a converted-weight cache (--dtype fp16/int8/int4)');
export const defaultWeightCacheRoot = notHere('a converted-weight cache (--dtype fp16/int8/int4)');
export const ensureConverted = notHere('a converted-weight cache (--dtype fp16/int8/int4)');
export type EnsureResult = { built: boolean; buildSeconds: number };
export const readLoraAdapter = notHere('a LoRA adapter');
export const applyLoraAdapter = notHere('a LoRA adapter');
export const adapterScopes = notHere('a LoRA adapter');
export const EmbeddingRows = { open: notHere('reading embedding rows from the file (--dtype fp16/int8/int4)') };
