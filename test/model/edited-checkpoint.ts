// A copy of the golden qwen2 checkpoint in a temp folder, with edits to its tensors and config
// (shared by the inventory and Model.load error tests).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../src/io/safetensors.ts';
import { GOLDEN } from '../helpers/paths.ts';
import { tempDir } from '../helpers/tmp.ts';

/** `edit` changes the tensor list and the parsed config.json in place. */
export async function editedQwen2(edit: (ts: TensorToWrite[], cfg: any) => void = () => {}): Promise<string> {
  const src = join(GOLDEN, 'models/qwen2');
  const dir = await tempDir();
  const f = await SafetensorsFile.open(join(src, 'model.safetensors'));
  const ts: TensorToWrite[] = [];
  for (const n of f.names()) {
    const i = f.info(n);
    ts.push({ name: n, dtype: i.dtype, shape: [...i.shape], data: await f.readBytes(n) });
  }
  const cfg = JSON.parse(await readFile(join(src, 'config.json'), 'utf8'));
  edit(ts, cfg);
  await writeSafetensors(join(dir, 'model.safetensors'), ts, { format: 'pt' });
  await writeFile(join(dir, 'config.json'), JSON.stringify(cfg));
  return dir;
}
