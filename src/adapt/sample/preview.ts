/**
 * `minivl adapt preview`: one sample as training sees it — the rendered conversation with its
 * supervised span marked «…», image tokens collapsed to a count — and optionally the image with its
 * boxes, DriveLM object centres, the camera grid of a stitched image and the tile grid drawn.
 */
import { existsSync } from 'node:fs';
import sharp from 'sharp';
import { fail } from '../../errors.ts';
import { chooseGrid, loadImage, TILE_SIZE, type RgbImage } from '../../image/index.ts';
import { writeFileAtomic, writeFully } from '../../io/atomic-write.ts';
import { IMG_CONTEXT_TOKEN } from '../../prompt/index.ts';
import type { Tokenizer } from '../../tokenizer/index.ts';
import { CAMERA_GRID, isCamera, STITCHED_HEIGHT, STITCHED_WIDTH, stitchedTags, VIEW_HEIGHT, VIEW_WIDTH } from '../convert/ctag.ts';
import { drawText, fillRect, strokeRect, type Rgb } from '../convert/draw.ts';
import { denormalizeBox, parseBoxes } from '../format/boxes.ts';
import { datasetLines, readMeta, resolveMediaPath } from '../format/meta.ts';
import { recordImages, type ChatRecord } from '../format/record.ts';
import { parseRecordLine } from '../format/validate.ts';
import { IGNORE_TOKEN_ID, renderConversation } from './build.ts';
import { loadRecordSample } from './record-sample.ts';

export interface PreviewOptions {
  meta: string;
  dataset?: string;
  index: number;
  baseDir?: string;
  tokenizer?: Tokenizer;
  template?: string;
  out?: string;
  force?: boolean;
}

const BOX_COLOR: Rgb = [255, 40, 40];
const TAG_COLOR: Rgb = [40, 255, 40];
const CAMERA_GRID_COLOR: Rgb = [255, 255, 0];
const TILE_GRID_COLOR: Rgb = [0, 200, 255];

export async function renderPreview(opts: PreviewOptions): Promise<string> {
  if (opts.out !== undefined && existsSync(opts.out) && !opts.force) fail(`--out ${opts.out} exists; pass --force to replace it`);
  const meta = readMeta(opts.meta, opts.baseDir !== undefined ? { baseDir: opts.baseDir } : {});
  const ds = opts.dataset === undefined ? meta.datasets[0]! : (meta.datasets.find((d) => d.name === opts.dataset) ?? fail(`--dataset ${opts.dataset}: not in ${opts.meta} (has ${meta.datasets.map((d) => d.name).join(', ')})`));
  let line;
  let n = 0;
  for (const l of datasetLines(ds)) {
    if (n++ === opts.index) {
      line = l;
      break;
    }
  }
  if (!line) fail(`--index ${opts.index}: ${ds.name} has ${n} samples after repeat_time`);
  const record = parseRecordLine(line);
  const out: string[] = [`${ds.name} sample ${opts.index} (${line.file}:${line.lineNo})`];
  const maxDynamicPatch = ds.maxDynamicPatch ?? 12;
  const template = opts.template ?? 'Hermes-2';
  if (opts.tokenizer) {
    const s = await loadRecordSample(record, { tokenizer: opts.tokenizer, template, root: ds.rootPath, maxDynamicPatch });
    const supervised = s.labels.filter((l) => l !== IGNORE_TOKEN_ID).length;
    out.push(`tokens ${s.inputIds.length}, supervised ${supervised}, tiles ${s.numTiles} (image tokens ${s.numImageTokens.join(' + ') || 0})`);
    out.push(markTokens(opts.tokenizer, s.inputIds, s.labels));
  } else {
    const r = renderConversation({ template, conversations: record.conversations, textOnly: true });
    let text = '';
    let at = 0;
    for (const [a, b] of r.answerSpans) {
      text += `${r.text.slice(at, a)}«${r.text.slice(a, b)}»`;
      at = b;
    }
    out.push(`(${template}; pass --tokenizer/--template for the tokens)`, text + r.text.slice(at));
  }
  if (opts.out !== undefined) {
    const img = await annotatedImage(record, ds.rootPath, maxDynamicPatch);
    const png = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).png().toBuffer();
    await writeFileAtomic(opts.out, (fh) => writeFully(fh, png));
    out.push(`wrote ${opts.out} (${img.width}x${img.height})`);
  }
  return `${out.join('\n')}\n`;
}

/** The decoded sample with runs of supervised tokens in «…» and each image's tokens as a count. */
function markTokens(tok: Tokenizer, ids: number[], labels: number[]): string {
  const ctx = tok.tokenToId(IMG_CONTEXT_TOKEN);
  let out = '';
  let k = 0;
  while (k < ids.length) {
    const sup = labels[k] !== IGNORE_TOKEN_ID;
    let j = k;
    while (j < ids.length && (labels[j] !== IGNORE_TOKEN_ID) === sup && (ids[j] === ctx) === (ids[k] === ctx)) j++;
    const text = ids[k] === ctx ? `<IMG_CONTEXT>×${j - k}` : tok.decode(ids.slice(k, j));
    out += sup ? `«${text}»` : text;
    k = j;
  }
  return out;
}

/** The first image with boxes and object centres from the conversation, camera grid and tile grid. */
async function annotatedImage(record: ChatRecord, root: string, maxDynamicPatch: number): Promise<RgbImage> {
  const images = recordImages(record);
  if (images.length === 0) fail('this sample has no image to draw (--out needs an image record)');
  const img = await loadImage(resolveMediaPath(root, images[0]!));
  const { width: W, height: H } = img;
  // Tile grid the trainer will cut (thin), then the camera grid of a stitched DriveLM image (thick).
  const [cols, rows] = chooseGrid(W, H, 1, images.length > 1 ? Math.max(1, Math.floor(maxDynamicPatch / images.length)) : maxDynamicPatch, TILE_SIZE);
  for (let c = 1; c < cols; c++) fillRect(img, Math.round((c * W) / cols), 0, 1, H, TILE_GRID_COLOR);
  for (let r = 1; r < rows; r++) fillRect(img, 0, Math.round((r * H) / rows), W, 1, TILE_GRID_COLOR);
  const stitched = W === STITCHED_WIDTH && H === STITCHED_HEIGHT;
  if (stitched) {
    for (const x of [VIEW_WIDTH, 2 * VIEW_WIDTH]) fillRect(img, x - 2, 0, 4, H, CAMERA_GRID_COLOR);
    fillRect(img, 0, VIEW_HEIGHT - 2, W, 4, CAMERA_GRID_COLOR);
  }
  const scale = Math.max(1, Math.round(Math.min(W, H) / 300));
  for (const turn of record.conversations) {
    for (const found of parseBoxes(turn.value)) {
      for (const b of found.boxes) {
        const [x1, y1, x2, y2] = denormalizeBox(b, W, H);
        strokeRect(img, x1, y1, x2, y2, BOX_COLOR, Math.max(2, scale));
      }
    }
    for (const t of stitchedTags(turn.value)) {
      const x = (t.x / 1000) * W;
      const y = (t.y / 1000) * H;
      const arm = 6 * scale;
      fillRect(img, x - arm, y - scale, 2 * arm, 2 * scale, TAG_COLOR);
      fillRect(img, x - scale, y - arm, 2 * scale, 2 * arm, TAG_COLOR);
      drawText(img, t.id, x + arm + 2, y - arm, scale, TAG_COLOR);
      if (stitched && isCamera(t.camera)) {
        // The view the tag names: a tag drawn outside it means a wrong conversion.
        const [mx, my] = CAMERA_GRID[t.camera];
        if (x < mx * VIEW_WIDTH || x > (mx + 1) * VIEW_WIDTH || y < my * VIEW_HEIGHT || y > (my + 1) * VIEW_HEIGHT) {
          strokeRect(img, x - arm, y - arm, x + arm, y + arm, BOX_COLOR, scale);
        }
      }
    }
  }
  return img;
}
