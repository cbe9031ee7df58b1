// The answer printed as it is generated, with load and prompt progress on stderr.
//   node examples/stream.mjs MODEL IMAGE ["question"]
import { MiniVL } from 'minivl';

const [model, image, question = 'Describe the image in detail.'] = process.argv.slice(2);
const onProgress = (e) => process.stderr.write(`[${e.stage}]\n`);
const vl = await MiniVL.load(model, { onProgress });
const stream = vl.chatStream({ images: [image], question, onProgress, generation: { maxNewTokens: 64, doSample: true, seed: 2 } });
for await (const chunk of stream) process.stdout.write(chunk.text);
const r = await stream.result;
process.stdout.write(`\n(${r.tokenIds.length} tokens in ${Math.round(r.timings.decodeMs)} ms)\n`);
await vl.release();
