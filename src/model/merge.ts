/**
 * Image-embedding merge (architecture.md §6): rows of the token embeddings whose id is
 * `<IMG_CONTEXT>` are overwritten, in order, by the projector output rows.
 */
import { fail } from '../errors.ts';

/**
 * Overwrites in place `embeds` [L, H] at the IMG_CONTEXT positions of `ids` with `vitEmbeds`
 * [n·numImageToken, H] (tiles in pixel_values order). Returns the number of rows written.
 */
export function mergeImageEmbeds(
  embeds: Float32Array,
  ids: ArrayLike<number>,
  vitEmbeds: Float32Array,
  imgContextId: number,
  hidden: number,
): number {
  const rows = vitEmbeds.length / hidden;
  let count = 0;
  for (let i = 0; i < ids.length; i++) if (ids[i] === imgContextId) count++;
  if (count !== rows) {
    fail(`the prompt has ${count} <IMG_CONTEXT> tokens (id ${imgContextId}) but the images give ${rows} embedding rows`);
  }
  let r = 0;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] !== imgContextId) continue;
    embeds.set(vitEmbeds.subarray(r * hidden, (r + 1) * hidden), i * hidden);
    r++;
  }
  return r;
}
