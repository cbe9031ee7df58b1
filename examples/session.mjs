// A multi-turn conversation: the session keeps the history, the images and their vision embeddings.
//   node examples/session.mjs MODEL IMAGE [IMAGE2]
import { readFile } from 'node:fs/promises';
import { MiniVL } from 'minivl';

const [model, image, image2 = image] = process.argv.slice(2);
const vl = await MiniVL.load(model);
const chat = vl.session({ maxNum: 6, generation: { maxNewTokens: 32, doSample: true, seed: 3 } });
chat.addImages(image);
for (const q of ['What is in the picture?', 'What colors does it have?']) {
  const r = await chat.ask(q).result;
  console.log(`> ${q}\n${r.text}`);
}
// A second image joins on a later turn (bytes work as well as paths); it is prompted as Image-2.
const r = await chat.ask('Compare it with this one.', { images: [await readFile(image2)] }).result;
console.log(`> Compare it with this one.\n${r.text}`);
console.log(`(${chat.history.length} turns, ${chat.imageInfos.length} images)`);
await vl.release();
