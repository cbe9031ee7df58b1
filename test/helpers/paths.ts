import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/** The project root (tests run from anywhere). */
export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** `../shared` beside the project root: golden data and assets are read in place, never copied. */
export const SHARED = resolve(ROOT, '..', 'shared');
export const GOLDEN = resolve(SHARED, 'golden');
export const ASSETS = resolve(SHARED, 'assets');
export const shared = (...p: string[]) => resolve(SHARED, ...p);
