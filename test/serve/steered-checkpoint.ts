// A tiny InternVL2-1B checkpoint (real Qwen2 tokenizer) whose greedy answer to anything is the grounding
// answer `<ref>cat</ref><box>[[10,23 ,456,\n789]]</box>`: every layer's attention and MLP output is zeroed,
// so the last hidden state is the current token's embedding, and the embedding / lm_head rows of the answer's
// tokens form a chain (token j's embedding is basis vector j; the head row of token j+1 is 10 × that vector).
// The chain needs distinct tokens: the three commas are three different tokens (',', ' ,', ',\n') that the
// grounding syntax reads alike. Used by the browser test to get a real grounding answer from the real engine.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeRandomCheckpoint } from '../../src/dev/random-checkpoint.ts';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../src/io/safetensors.ts';
import { bf16ToF32, f32ToBf16 } from '../../src/io/dtype.ts';
import { loadTokenizer } from '../../src/tokenizer/index.ts';
import { ASSETS } from '../helpers/paths.ts';

/** The answer's pieces, one token each. */
export const STEERED_PIECES = ['<ref>', 'cat', '</ref>', '<box>', '[[', '1', '0', ',', '2', '3', ' ,', '4', '5', '6', ',\n', '7', '8', '9', ']]', '</box>', '<|im_end|>'];
export const STEERED_BOX = [10, 23, 456, 789];

export async function writeSteeredCheckpoint(out: string): Promise<void> {
  await writeRandomCheckpoint({ like: 'internvl2-1b', tiny: true, out, tokenizerDir: join(ASSETS, 'tokenizers', 'internvl2-1b') });
  const tok = await loadTokenizer(out);
  const one = (s: string) => {
    const ids = tok.encode(s);
    if (ids.length !== 1) throw new Error(`steered checkpoint: '${s}' is ${ids.length} tokens`);
    return ids[0]!;
  };
  // The prompt ends with "<|im_start|>assistant\n": '\n' starts the chain.
  const chain = [one('\n'), ...STEERED_PIECES.map(one)];
  if (new Set(chain).size !== chain.length) throw new Error('steered checkpoint: the chain repeats a token');

  const file = join(out, 'model.safetensors');
  const f = await SafetensorsFile.open(file);
  const cfg = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
  const H: number = cfg.llm_config.hidden_size;
  const tensors: TensorToWrite[] = [];
  for (const name of f.names()) {
    const info = f.info(name);
    let data = await f.readBytes(name);
    const edit = (fn: (x: Float32Array) => void) => {
      const x = bf16ToF32(new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)));
      fn(x);
      data = new Uint8Array(f32ToBf16(x).buffer);
    };
    if (/layers\.\d+\.(self_attn\.o_proj|mlp\.down_proj)\.weight$/.test(name)) edit((x) => x.fill(0));
    else if (name === 'language_model.model.norm.weight') edit((x) => x.fill(1));
    else if (name === 'language_model.model.embed_tokens.weight') {
      edit((x) => chain.slice(0, -1).forEach((id, j) => x.fill(0, id * H, (id + 1) * H).fill(1, id * H + j, id * H + j + 1)));
    } else if (name === 'language_model.lm_head.weight') {
      edit((x) => chain.slice(1).forEach((id, j) => x.fill(0, id * H, (id + 1) * H).fill(10, id * H + j, id * H + j + 1)));
    }
    tensors.push({ name, dtype: info.dtype, shape: [...info.shape], data });
  }
  await writeSafetensors(file, tensors, { format: 'pt' });
}
