// A general (text-only) data set for the --replay tests, in a temporary folder.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A general (text-only) data set for --replay. */
export async function writeReplayData(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const facts = ['Water boils at 100 degrees.', 'The sky is blue.', 'Two plus two is four.', 'Paris is in France.', 'Cats are mammals.', 'Ice is frozen water.'];
  const lines = facts.map((f, i) => JSON.stringify({ id: i, conversations: [{ from: 'human', value: `Tell me fact ${i + 1}.` }, { from: 'gpt', value: f }] }));
  await writeFile(join(dir, 'general.jsonl'), `${lines.join('\n')}\n`);
  const file = join(dir, 'meta.json');
  await writeFile(file, JSON.stringify({ general: { root: dir, annotation: join(dir, 'general.jsonl'), repeat_time: 1, length: lines.length } }));
  return file;
}
