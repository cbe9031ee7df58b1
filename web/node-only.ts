/**
 * What the Node-only parts of the engine become in the browser build (web/build.mjs maps the LoRA
 * adapter module here): the page never calls them; asking for them says why in one line.
 */
import { fail } from '../src/errors.ts';

const notHere = (what: string) => (): never => fail(`${what} needs the Node build of minivl`);

export const readLoraAdapter = notHere('a LoRA adapter');
export const applyLoraAdapter = notHere('a LoRA adapter');
export const adapterScopes = notHere('a LoRA adapter');
