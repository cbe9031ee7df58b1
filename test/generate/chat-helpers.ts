// Shared by the chat tests: tiny random checkpoints (one per tokenizer layout), expected prompts written
// out from the spec strings (prompting.md §2, §3) and golden tile counts.
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { writeRandomCheckpoint } from '../../src/dev/random-checkpoint.ts';
import { GOLDEN, shared } from '../helpers/paths.ts';

export type Layout = '1b' | '2b' | '4b';
export const LAYOUTS: Layout[] = ['1b', '2b', '4b'];

export const image = (name: string) => join(GOLDEN, 'images', name);

/**
 * Writes tiny random checkpoints for the given layouts into one temp folder. Call `cleanup` from a
 * top-level after() (an after() registered inside a before() hook runs when that hook ends).
 */
export async function tinyCheckpoints(layouts: Layout[] = LAYOUTS): Promise<{ root: string; dirs: Record<Layout, string>; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'minivl-chat-'));
  const dirs = {} as Record<Layout, string>;
  for (const k of layouts) {
    dirs[k] = join(root, k);
    await writeRandomCheckpoint({ like: `internvl2-${k}`, tiny: true, out: dirs[k], tokenizerDir: shared('assets/tokenizers', `internvl2-${k}`) });
  }
  return { root, dirs, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** prompting.md §1.1: the InternVL2 system message (all three templates). */
export const SYS = '你是由上海人工智能实验室联合商汤科技开发的书生多模态大模型，英文名叫InternVL, 是一个有用无害的人工智能助手。';

const CHATML = { sys: '<|im_start|>system\n', user: '<|im_start|>user\n', asst: '<|im_start|>assistant\n', sep: '<|im_end|>' };
const PHI3 = { sys: '<|system|>\n', user: '<|user|>\n', asst: '<|assistant|>\n', sep: '<|end|>' };

/** The rendered prompt of prompting.md §2, with history pairs, for a layout. */
export function expectedPrompt(layout: Layout, question: string, history: [string, string][] = [], system = SYS): string {
  const t = layout === '4b' ? PHI3 : CHATML;
  let s = t.sys + system + t.sep;
  // An empty answer renders the role alone, without sep (the reference's quirk, prompting.md §1).
  for (const [q, a] of history) s += t.user + q + t.sep + t.asst + (a ? a + t.sep : '');
  return s + t.user + question + t.sep + t.asst;
}

/** `<img>` + 256·tiles `<IMG_CONTEXT>` + `</img>` (prompting.md §3.2). */
export const imageBlock = (tiles: number) => `<img>${'<IMG_CONTEXT>'.repeat(256 * tiles)}</img>`;

/** Tiles of the golden preprocess cases (cases.json), thumbnail included. */
export function goldenTiles(name: string, maxNum: number): number {
  const { cases } = JSON.parse(readFileSync(join(GOLDEN, 'preprocess', 'cases.json'), 'utf8')) as {
    cases: Array<{ image: string; max_num: number; num_tiles: number }>;
  };
  const c = cases.find((x) => basename(x.image) === name && x.max_num === maxNum);
  if (!c) throw new Error(`no golden preprocess case for ${name} max_num ${maxNum}`);
  return c.num_tiles;
}

/** Counts `<IMG_CONTEXT>` ids in each `<img>…</img>` span, in order. */
export function contextRuns(ids: number[], imgStart: number, imgEnd: number, ctx: number): number[] {
  const runs: number[] = [];
  let inside = false;
  for (const id of ids) {
    if (id === imgStart) {
      inside = true;
      runs.push(0);
    } else if (id === imgEnd) inside = false;
    else if (inside && id === ctx) runs[runs.length - 1]!++;
  }
  return runs;
}
