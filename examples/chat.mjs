// One question about one image, answered in one piece.
//   node examples/chat.mjs MODEL IMAGE ["question"]     (MODEL: a checkpoint folder or a hub id)
import { MiniVL } from 'minivl';

const [model, image, question = 'Describe the image.'] = process.argv.slice(2);
const vl = await MiniVL.load(model);
const r = await vl.chat({ images: [image], question, generation: { maxNewTokens: 64, doSample: true, seed: 1 } });
console.log(r.text);
console.log(`(${r.promptTokens} prompt tokens, ${r.tokenIds.length} generated, stopped by ${r.stopReason})`);
await vl.release();
