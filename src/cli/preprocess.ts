/**
 * `minivl preprocess --image FILE --max-num N --out FILE.u8`: writes the tiles as `[tiles, 448, 448, 3]` uint8
 * RGB (thumbnail last) and prints `{"grid":[cols,rows],"num_tiles":n}`.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { fail } from '../errors.ts';
import { dynamicPreprocess, loadImage } from '../image/index.ts';

const USAGE = 'usage: minivl preprocess --image FILE --max-num N --out FILE.u8 [--min-num N] [--no-thumbnail]';

function parseInteger(name: string, v: string | undefined, dflt?: number): number {
  if (v === undefined) return dflt ?? fail(`--${name} is required (${USAGE})`);
  if (!/^\d+$/.test(v)) fail(`--${name} must be a positive integer, got '${v}'`);
  return Number(v);
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      image: { type: 'string' },
      'max-num': { type: 'string' },
      'min-num': { type: 'string' },
      out: { type: 'string' },
      'no-thumbnail': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const image = values.image ?? fail(`--image is required (${USAGE})`);
  const out = values.out ?? fail(`--out is required (${USAGE})`);
  const maxNum = parseInteger('max-num', values['max-num']);
  const minNum = parseInteger('min-num', values['min-num'], 1);
  const img = await loadImage(image);
  const { grid, tiles } = dynamicPreprocess(img, { minNum, maxNum, useThumbnail: !values['no-thumbnail'] });
  const bytes = new Uint8Array(tiles.reduce((a, t) => a + t.data.length, 0));
  let o = 0;
  for (const t of tiles) {
    bytes.set(t.data, o);
    o += t.data.length;
  }
  try {
    await writeFile(out, bytes);
  } catch (e) {
    fail(`cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  process.stdout.write(`${JSON.stringify({ grid, num_tiles: tiles.length })}\n`);
  return 0;
}
