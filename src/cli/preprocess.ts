/**
 * `minivl preprocess --image FILE --max-num N --out FILE.u8`: writes the tiles as `[tiles, 448, 448, 3]` uint8
 * RGB (thumbnail last) and prints `{"grid":[cols,rows],"num_tiles":n}`.
 */
import { dynamicPreprocess, loadImage, MAX_TILES } from '../image/index.ts';
import { writeFileAtomic, writeFully } from '../io/atomic-write.ts';
import { intFlag, outputFile, parseCommandArgs, printJson, required, type CommandSpec } from './args.ts';

const CMD: CommandSpec = {
  name: 'preprocess',
  help: `usage: minivl preprocess --image FILE --max-num N --out FILE.u8 [--min-num N] [--no-thumbnail]

Tiles and resizes an image as the reference dynamic_preprocess does, writes the tiles as
[tiles, 448, 448, 3] uint8 RGB (thumbnail last) and prints {"grid":[cols,rows],"num_tiles":n}.

  --image FILE      the image (JPEG, PNG, WebP, GIF, ...)
  --max-num N       max tiles, thumbnail not counted (1 to ${MAX_TILES})
  --min-num N       min tiles (default 1)
  --out FILE.u8     output file; replaced if it exists (written to a temporary file, then renamed)
  --no-thumbnail    no thumbnail tile after the grid
  -h, --help        this help
`,
};

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(CMD, {
    args: argv,
    options: {
      image: { type: 'string' },
      'max-num': { type: 'string' },
      'min-num': { type: 'string' },
      out: { type: 'string' },
      'no-thumbnail': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (!args) return 0;
  const { values } = args;
  const image = required(CMD, '--image', values.image);
  const out = outputFile('--out', required(CMD, '--out', values.out));
  const maxNum = intFlag('--max-num', required(CMD, '--max-num', values['max-num']), { min: 1, max: MAX_TILES })!;
  const minNum = intFlag('--min-num', values['min-num'], { min: 1, max: maxNum }) ?? 1;
  const img = await loadImage(image);
  const { grid, tiles } = dynamicPreprocess(img, { minNum, maxNum, useThumbnail: !values['no-thumbnail'] });
  await writeFileAtomic(out, async (fh) => {
    for (const t of tiles) await writeFully(fh, t.data);
  });
  printJson({ grid, num_tiles: tiles.length });
  return 0;
}
