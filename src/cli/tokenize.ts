import { errnoCode, fail } from '../errors.ts';
import { loadTokenizer } from '../tokenizer/index.ts';
import { readFileSync } from 'node:fs';
import { parseJsonText } from '../tokenizer/settings.ts';
import { inputDir, inputFile, parseCommandArgs, required, type CommandSpec } from './args.ts';

const CMD: CommandSpec = {
  name: 'tokenize',
  help: `usage: minivl tokenize --tokenizer DIR --texts FILE.json [--no-special-tokens]

Prints a JSON array with the token ids of each text, as tokenizer(text)["input_ids"] with the
model's default special-token handling.

  --tokenizer DIR       checkpoint folder with the tokenizer files (tokenizer.json, vocab.json +
                        merges.txt, or tokenizer.model, with tokenizer_config.json etc.)
  --texts FILE.json     a JSON array of strings, or an object with a "texts" array
  --no-special-tokens   do not add BOS/EOS (add_special_tokens=False)
  -h, --help            this help
`,
};

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(CMD, {
    args: argv,
    options: {
      tokenizer: { type: 'string' },
      texts: { type: 'string' },
      'no-special-tokens': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (!args) return 0;
  const { values } = args;
  const tokenizerDir = inputDir('--tokenizer', required(CMD, '--tokenizer', values.tokenizer));
  const texts = readTexts(inputFile('--texts', required(CMD, '--texts', values.texts)));
  const tokenizer = await loadTokenizer(tokenizerDir);
  const addSpecialTokens = !values['no-special-tokens'];
  const lines = texts.map((t) => JSON.stringify(tokenizer.encode(t, { addSpecialTokens })));
  process.stdout.write(`[${lines.join(',')}]\n`);
  return 0;
}

function readTexts(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    fail(`${file}: cannot read (${errnoCode(e)})`);
  }
  const data = parseJsonText(text, file);
  const list = Array.isArray(data) ? data : (data as { texts?: unknown } | null)?.texts;
  if (!Array.isArray(list)) fail(`${file}: expected a JSON array of strings or an object with a "texts" array`);
  list.forEach((t, i) => {
    if (typeof t !== 'string') fail(`${file}: text ${i} is not a string`);
  });
  return list as string[];
}
