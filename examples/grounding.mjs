// Grounding: ask for a box, get `<ref>…</ref><box>[[x1, y1, x2, y2]]</box>` parsed into pixel boxes of
// the image (a released checkpoint answers with boxes; a random demo checkpoint rarely does).
//   node examples/grounding.mjs MODEL IMAGE ["object"]
import { MiniVL } from 'minivl';

const [model, image, object = 'the house'] = process.argv.slice(2);
const vl = await MiniVL.load(model);
const r = await vl.chat({
  images: [image],
  question: `Please provide the bounding box coordinate of the region this sentence describes: <ref>${object}</ref>`,
  generation: { maxNewTokens: 48 },
});
console.log(r.rawText);
console.log(JSON.stringify(r.grounding)); // [{ ref, boxes: [[x1, y1, x2, y2]] in pixels, normalized: [[0..1000]] }]
await vl.release();
