// A small converted data set for fine-tuning tests: a meta file, a JSONL annotation with four image
// records (448×448 PNGs drawn here, one tile each) and one text record, in a temporary folder.
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeRandomCheckpoint } from '../../../src/dev/random-checkpoint.ts';

const COLOURS: [string, [number, number, number]][] = [['red', [220, 30, 30]], ['green', [30, 200, 60]], ['blue', [40, 60, 220]], ['yellow', [230, 220, 40]]];

export async function writeFinetuneData(dir: string): Promise<string> {
  mkdirSync(join(dir, 'images'), { recursive: true });
  const lines: string[] = [];
  for (const [i, [name, [r, g, b]]] of COLOURS.entries()) {
    await sharp({ create: { width: 448, height: 448, channels: 3, background: { r, g, b } } }).png().toFile(join(dir, 'images', `${name}.png`));
    lines.push(JSON.stringify({ id: i, image: `images/${name}.png`, conversations: [{ from: 'human', value: '<image>\nWhat colour is this?' }, { from: 'gpt', value: `It is ${name}.` }] }));
  }
  lines.push(JSON.stringify({ id: 9, conversations: [{ from: 'human', value: 'Say hello.' }, { from: 'gpt', value: 'Hello there.' }] }));
  writeFileSync(join(dir, 'colours.jsonl'), `${lines.join('\n')}\n`);
  const meta = join(dir, 'meta.json');
  writeFileSync(meta, JSON.stringify({ colours: { root: dir, annotation: join(dir, 'colours.jsonl'), data_augment: false, repeat_time: 1, length: lines.length } }));
  return meta;
}

/** A temporary folder holding a tiny InternVL2-1B-like checkpoint (`tiny-1b`) and this data set (`data`). */
export async function writeFinetuneFixture(prefix: string): Promise<{ dir: string; model: string; meta: string }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const model = join(dir, 'tiny-1b');
  await writeRandomCheckpoint({ like: 'internvl2-1b', tiny: true, out: model });
  return { dir, model, meta: await writeFinetuneData(join(dir, 'data')) };
}
