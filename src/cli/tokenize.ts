import { parseArgs } from 'node:util';
import { fail } from '../errors.ts';
import { loadTokenizer } from '../tokenizer/index.ts';
import { readJsonFile } from '../tokenizer/settings.ts';

const USAGE = 'usage: minivl tokenize --tokenizer DIR --texts FILE.json [--no-special-tokens]';

/**
 * `minivl tokenize --tokenizer DIR --texts FILE.json`: prints a JSON array with the ids of each text
 * (the model's default special-token handling). FILE.json is a JSON array of strings or an object
 * with a `texts` array (the golden file's form).
 */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      tokenizer: { type: 'string' },
      texts: { type: 'string' },
      'no-special-tokens': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.tokenizer || !values.texts) fail(`tokenize needs --tokenizer DIR and --texts FILE.json (${USAGE})`);
  const texts = readTexts(values.texts);
  const tokenizer = await loadTokenizer(values.tokenizer);
  const addSpecialTokens = !values['no-special-tokens'];
  const lines = texts.map((t) => JSON.stringify(tokenizer.encode(t, { addSpecialTokens })));
  process.stdout.write(`[${lines.join(',')}]\n`);
  return 0;
}

function readTexts(file: string): string[] {
  const data = readJsonFile(file);
  const list = Array.isArray(data) ? data : (data as { texts?: unknown } | null)?.texts;
  if (!Array.isArray(list)) fail(`${file}: expected a JSON array of strings or an object with a "texts" array`);
  list.forEach((t, i) => {
    if (typeof t !== 'string') fail(`${file}: text ${i} is not a string`);
  });
  return list as string[];
}
