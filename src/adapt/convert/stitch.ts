/**
 * DriveLM's six-camera stitching (adaptation.md §4.5, reference `tools/images_stitching.py`): each view
 * is resized to 896×448 with Pillow's bicubic filter, labelled with its camera name in magenta at its
 * top-left corner, and pasted into a black 2688×896 canvas at (col·896, row·448); saved as JPEG q75.
 *
 * Deviation: the reference draws the label in DejaVuSans-Bold 50 px; we draw it with the embedded bitmap
 * font at a comparable size (caps 35 px high), so the output does not depend on installed fonts.
 */
import sharp from 'sharp';
import { resizeBicubic, type RgbImage } from '../../image/index.ts';
import { CAMERA_GRID, CAMERAS, STITCHED_HEIGHT, STITCHED_WIDTH, VIEW_HEIGHT, VIEW_WIDTH, type Camera } from './ctag.ts';
import { blankImage, drawText, paste, type Rgb } from './draw.ts';

export const LABEL_COLOR: Rgb = [255, 0, 255];
/** Font pixel size of the camera label (5×7 glyphs → 35 px capitals, about DejaVuSans-Bold 50's cap height). */
export const LABEL_SCALE = 5;

/** The stitched canvas (pure: no files). Every camera must be present. */
export function stitchCameras(views: Record<Camera, RgbImage>): RgbImage {
  const canvas = blankImage(STITCHED_WIDTH, STITCHED_HEIGHT);
  for (const cam of CAMERAS) {
    const view = resizeBicubic(views[cam], VIEW_WIDTH, VIEW_HEIGHT);
    drawText(view, cam, 0, 0, LABEL_SCALE, LABEL_COLOR);
    const [col, row] = CAMERA_GRID[cam];
    paste(canvas, view, col * VIEW_WIDTH, row * VIEW_HEIGHT);
  }
  return canvas;
}

/** JPEG bytes as Pillow's default save writes them (quality 75, 4:2:0 chroma). */
export async function encodeJpeg(img: RgbImage, quality = 75): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .jpeg({ quality, chromaSubsampling: '4:2:0', mozjpeg: false })
    .toBuffer();
}
