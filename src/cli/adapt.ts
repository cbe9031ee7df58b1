/**
 * `minivl adapt convert|check|preview|mix|sample`: domain data for fine-tuning (src/adapt). Thin: flags
 * are parsed here, the work is the library's.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkMeta, formatCheckReport } from '../adapt/format/check.ts';
import { CONVERTERS } from '../adapt/convert/registry.ts';
import { runConverter } from '../adapt/convert/run.ts';
import { writeMix } from '../adapt/format/mix.ts';
import { buildTrainingSample } from '../adapt/sample/build.ts';
import { renderPreview } from '../adapt/sample/preview.ts';
import type { Turn } from '../adapt/format/record.ts';
import { errnoCode, fail } from '../errors.ts';
import { TEMPLATE_NAMES } from '../prompt/index.ts';
import { loadTokenizer } from '../tokenizer/index.ts';
import { inputDir, inputFile, intFlag, numFlag, outputFile, parseCommandArgs, printJson, required, type CommandSpec } from './args.ts';

const TOP: CommandSpec = {
  name: 'adapt',
  help: `usage: minivl adapt convert|check|preview|mix|sample [options]

  convert   turn a released domain data set into InternVL chat JSONL (--from ${Object.keys(CONVERTERS).join('|')})
  check     validate a meta file and its JSONL files (exit 1 on errors)
  preview   show one rendered training sample with its supervised span, and its image with boxes
  mix       write a meta file mixing domain data with general data at a ratio
  sample    build one training sample (input_ids, labels) from a conversations file

minivl adapt <sub> --help shows its flags.
`,
};

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'convert':
      return convert(rest);
    case 'check':
      return check(rest);
    case 'preview':
      return preview(rest);
    case 'mix':
      return mix(rest);
    case 'sample':
      return sample(rest);
    case undefined:
      process.stderr.write(TOP.help);
      return 2;
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(TOP.help);
      return 0;
    default:
      fail(`adapt: unknown subcommand '${sub}' (convert, check, preview, mix, sample)`);
  }
}

const SAMPLE: CommandSpec = {
  name: 'adapt sample',
  help: `usage: minivl adapt sample --tokenizer DIR --template NAME --conversations FILE.json [--image-tokens N[,N...]] [--text-only] [--max-length N]

Builds one training sample from a record's conversations list ({"from", "value"} turns; a whole record
with "conversations" works too) with N <IMG_CONTEXT> tokens per image and prints
{"input_ids": [...], "labels": [...]} (-100 = not supervised).

  --tokenizer DIR        checkpoint folder with the tokenizer files
  --template NAME        ${TEMPLATE_NAMES.join(' | ')}
  --conversations FILE   JSON list of turns
  --image-tokens N,...   <IMG_CONTEXT> tokens for each <image>, in order (256 per tile)
  --text-only            no <image> expansion (a pure-text record)
  --max-length N         truncate to N tokens (max_seq_length)
  -h, --help             this help
`,
};

async function sample(argv: string[]): Promise<number> {
  const args = parseCommandArgs(SAMPLE, {
    args: argv,
    options: {
      tokenizer: { type: 'string' }, template: { type: 'string' }, conversations: { type: 'string' },
      'image-tokens': { type: 'string' }, 'text-only': { type: 'boolean' }, 'max-length': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (!args) return 0;
  const v = args.values;
  const tokDir = inputDir('--tokenizer', required(SAMPLE, '--tokenizer', v.tokenizer));
  const template = required(SAMPLE, '--template', v.template);
  const file = inputFile('--conversations', required(SAMPLE, '--conversations', v.conversations));
  const conversations = readConversations(file);
  const numImageTokens = v['image-tokens'] === undefined ? [] : v['image-tokens'].split(',').map((s) => intFlag('--image-tokens', s.trim(), { min: 1 })!);
  const maxLength = intFlag('--max-length', v['max-length'], { min: 1 });
  const tokenizer = await loadTokenizer(tokDir);
  const s = buildTrainingSample({
    tokenizer, template, conversations, numImageTokens, textOnly: v['text-only'] ?? false,
    ...(maxLength !== undefined ? { maxLength } : {}),
  });
  printJson({ input_ids: s.inputIds, labels: s.labels });
  return 0;
}

function readConversations(file: string): Turn[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    fail(`--conversations ${file}: ${e instanceof SyntaxError ? `not valid JSON (${e.message})` : `cannot read (${errnoCode(e)})`}`);
  }
  const list = Array.isArray(data) ? data : (data as { conversations?: unknown } | null)?.conversations;
  if (!Array.isArray(list) || list.length === 0) fail(`--conversations ${file}: expected a non-empty JSON list of {"from", "value"} turns`);
  list.forEach((t, i) => {
    const turn = t as { from?: unknown; value?: unknown } | null;
    if (typeof turn?.from !== 'string' || typeof turn.value !== 'string') fail(`--conversations ${file}: turn ${i + 1} needs string "from" and "value"`);
  });
  return list as Turn[];
}

const CHECK: CommandSpec = {
  name: 'adapt check',
  help: `usage: minivl adapt check --meta FILE.json [--tokenizer DIR --template NAME]... [options]

Validates a meta file and every record its datasets use: JSON, turn order, <image> count vs images,
boxes outside 0..1000, empty answers, missing or unreadable images. Prints each problem as
file:line: field: message, then per dataset the counts after repeat_time and the share of the mixture;
with --tokenizer/--template (repeatable, in pairs) also the token-length histogram per template.
Exits 1 when there is an error.

  --meta FILE.json          the meta (mixture) file
  --base DIR                folder relative annotation/root paths resolve against (default: current folder)
  --tokenizer DIR           tokenizer for token lengths (pair each with a --template)
  --template NAME           ${TEMPLATE_NAMES.join(' | ')}
  --max-dynamic-patch N     max tiles per image for datasets without their own (default 12)
  --max-length N            max_seq_length, to count truncated samples (default 8192)
  --decode-images           also read every image's header (finds corrupt files)
  --max-issues N            issues listed per dataset (default 50; all are counted)
  --json                    print the report as one JSON object instead of text
  -h, --help                this help
`,
};

async function check(argv: string[]): Promise<number> {
  const args = parseCommandArgs(CHECK, {
    args: argv,
    options: {
      meta: { type: 'string' }, base: { type: 'string' }, tokenizer: { type: 'string', multiple: true },
      template: { type: 'string', multiple: true }, 'max-dynamic-patch': { type: 'string' }, 'max-length': { type: 'string' },
      'decode-images': { type: 'boolean' }, 'max-issues': { type: 'string' }, json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (!args) return 0;
  const v = args.values;
  const meta = inputFile('--meta', required(CHECK, '--meta', v.meta));
  const toks = v.tokenizer ?? [];
  const temps = v.template ?? [];
  if (toks.length !== temps.length) fail(`--tokenizer and --template come in pairs (got ${toks.length} and ${temps.length})`);
  const tokenizers = [];
  for (const [i, dir] of toks.entries()) {
    const tokenizer = await loadTokenizer(inputDir('--tokenizer', dir));
    tokenizers.push({ tokenizer, template: temps[i]!, label: `${temps[i]} ${dir}` });
  }
  const maxDynamicPatch = intFlag('--max-dynamic-patch', v['max-dynamic-patch'], { min: 1, max: 100 });
  const maxLength = intFlag('--max-length', v['max-length'], { min: 1 });
  const maxIssues = intFlag('--max-issues', v['max-issues'], { min: 0 });
  const report = await checkMeta(meta, {
    tokenizers,
    decodeImages: v['decode-images'] ?? false,
    onProgress: throttled((n) => process.stderr.write(`checked ${n} lines\n`)),
    ...(v.base !== undefined ? { baseDir: inputDir('--base', v.base) } : {}),
    ...(maxDynamicPatch !== undefined ? { maxDynamicPatch } : {}),
    ...(maxLength !== undefined ? { maxLength } : {}),
    ...(maxIssues !== undefined ? { maxIssuesPerDataset: maxIssues } : {}),
  });
  if (v.json) printJson(report);
  else process.stdout.write(formatCheckReport(report));
  return report.ok ? 0 : 1;
}

const CONVERT: CommandSpec = {
  name: 'adapt convert',
  help: `usage: minivl adapt convert --from SOURCE --in PATH --out FILE.jsonl [--images DIR] [--force] [source options]

Converts a released data set into InternVL chat JSONL (one record per line). Prints progress on stderr
and a JSON summary (converted, skipped with reasons and locations, a meta entry for the output).
Never overwrites an existing --out without --force; writes atomically.

  --from SOURCE         ${Object.entries(CONVERTERS).map(([k, c]) => `${k}: ${c.describe}`).join('\n                        ')}
  --in PATH             the source file (or folder, per source)
  --out FILE.jsonl      the JSONL to write
  --images DIR          folder the source's image paths are relative to (default: the --in folder)
  --image-prefix P      prefix written before image paths in the records (default: none)
  --force               replace an existing --out (and stitched images)
  --stitch-dir DIR      drivelm: where the stitched 2688x896 images go (default: <out folder>/stitch)
  --split train|val     drivelm: val keeps the original question as question_old
  --labels A,B,...      classification: the candidate labels in order (default: sorted labels of the file)
  --prefix TEXT         classification: instruction before the labels
  --suffix TEXT         classification: instruction after the labels
  --lettered            classification: options as "A. x B. y ..." and the answer as its letter
  --task TASK           generic: caption | vqa | grounding | region (box in the question)
  --image-field F       generic/classification: column with the image path (default image)
  --question-field F    generic: column with the question (vqa) or expression (grounding) (default question)
  --answer-field F      generic/classification: column with the answer, caption or label (default answer / label)
  --box-field F         generic grounding: column with the pixel box [x1,y1,x2,y2] (default bbox)
  --prompt TEXT         generic: fixed question for caption / grounding / region ({expr} / {box} are replaced)
  --suffix-vqa          vqa-rad/slake/rsvqa/generic vqa: append " Answer the question using a single word or phrase."
  --lang L              slake: keep only questions in language L (en or zh)
  -h, --help            this help
`,
};

async function convert(argv: string[]): Promise<number> {
  const args = parseCommandArgs(CONVERT, {
    args: argv,
    options: {
      from: { type: 'string' }, in: { type: 'string' }, out: { type: 'string' }, images: { type: 'string' },
      'image-prefix': { type: 'string' }, force: { type: 'boolean' }, 'stitch-dir': { type: 'string' }, split: { type: 'string' },
      labels: { type: 'string' }, prefix: { type: 'string' }, suffix: { type: 'string' }, lettered: { type: 'boolean' },
      task: { type: 'string' }, 'image-field': { type: 'string' }, 'question-field': { type: 'string' },
      'answer-field': { type: 'string' }, 'box-field': { type: 'string' }, prompt: { type: 'string' },
      'suffix-vqa': { type: 'boolean' }, lang: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (!args) return 0;
  const v = args.values;
  const from = required(CONVERT, '--from', v.from);
  if (!CONVERTERS[from]) fail(`--from ${from}: unknown source (known: ${Object.keys(CONVERTERS).join(', ')})`);
  const input = required(CONVERT, '--in', v.in);
  const out = outputFile('--out', required(CONVERT, '--out', v.out));
  if (v.images !== undefined) inputDir('--images', v.images);
  const summary = await runConverter(from, {
    input, out, force: v.force ?? false,
    images: v.images ?? dirname(input),
    flags: {
      imagePrefix: v['image-prefix'], stitchDir: v['stitch-dir'], split: v.split, labels: v.labels, prefix: v.prefix,
      suffix: v.suffix, lettered: v.lettered, task: v.task, imageField: v['image-field'], questionField: v['question-field'],
      answerField: v['answer-field'], boxField: v['box-field'], prompt: v.prompt, suffixVqa: v['suffix-vqa'], lang: v.lang,
    },
    onProgress: throttled((done, total) => process.stderr.write(`converted ${done}${total ? `/${total}` : ''} source records\n`)),
    onSkip: (s) => process.stderr.write(`skipped: ${s.location}: ${s.reason}\n`),
  });
  printJson(summary);
  return 0;
}

/** A progress printer that speaks at most every 2 s, and always for the final count. */
function throttled(print: (done: number, total?: number) => void): (done: number, total?: number) => void {
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (now - last < 2000 && done !== total) return;
    last = now;
    print(done, total);
  };
}

const PREVIEW: CommandSpec = {
  name: 'adapt preview',
  help: `usage: minivl adapt preview --meta FILE.json [--dataset NAME] [--index N] [--tokenizer DIR --template NAME] [--out FILE.png]

Shows sample N (0-based, after repeat_time, default 0) of a dataset (default: the first) as it is
trained: the conversation with the supervised span marked «like this», and — with --tokenizer/--template —
the token counts. --out writes the image with its boxes, DriveLM object centres and (for stitched
2688x896 images) the camera grid and the 6x2 tile grid drawn.

  --meta FILE.json      the meta file
  --dataset NAME        dataset key (default: the first)
  --index N             sample index after repeat_time (default 0)
  --base DIR            folder relative paths resolve against (default: current folder)
  --tokenizer DIR       tokenizer (with --template) to show the tokens and the supervised ones
  --template NAME       ${TEMPLATE_NAMES.join(' | ')}
  --out FILE.png        write the annotated image (refuses an existing file unless --force)
  --force               replace an existing --out
  -h, --help            this help
`,
};

async function preview(argv: string[]): Promise<number> {
  const args = parseCommandArgs(PREVIEW, {
    args: argv,
    options: {
      meta: { type: 'string' }, dataset: { type: 'string' }, index: { type: 'string' }, base: { type: 'string' },
      tokenizer: { type: 'string' }, template: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (!args) return 0;
  const v = args.values;
  const meta = inputFile('--meta', required(PREVIEW, '--meta', v.meta));
  if ((v.tokenizer === undefined) !== (v.template === undefined)) fail('--tokenizer and --template go together');
  const tokenizer = v.tokenizer !== undefined ? await loadTokenizer(inputDir('--tokenizer', v.tokenizer)) : undefined;
  const text = await renderPreview({
    meta, index: intFlag('--index', v.index, { min: 0 }) ?? 0, force: v.force ?? false,
    ...(v.dataset !== undefined ? { dataset: v.dataset } : {}),
    ...(v.base !== undefined ? { baseDir: inputDir('--base', v.base) } : {}),
    ...(tokenizer ? { tokenizer, template: v.template! } : {}),
    ...(v.out !== undefined ? { out: outputFile('--out', v.out) } : {}),
  });
  process.stdout.write(text);
  return 0;
}

const MIX: CommandSpec = {
  name: 'adapt mix',
  help: `usage: minivl adapt mix --domain META.json --general META.json --ratio R --out FILE.json [--force]

Writes a meta file with the domain datasets as they are and the general datasets' repeat_time scaled
so that general samples = R × domain samples (after repeat_time). Mixing general data in keeps the
model's general skills (the paper: DriveLM 0.25, BDD-X / medical 1.0). Prints the resulting counts.

  --domain META.json    meta file with the domain data
  --general META.json   meta file with the general data (e.g. internvl_1_2_finetune.json)
  --ratio R             general : domain sample ratio (e.g. 0.25)
  --base DIR            folder relative annotation paths resolve against, to count lines (default: current folder)
  --out FILE.json       the mixed meta file (refuses an existing file unless --force)
  --force               replace an existing --out
  -h, --help            this help
`,
};

async function mix(argv: string[]): Promise<number> {
  const args = parseCommandArgs(MIX, {
    args: argv,
    options: {
      domain: { type: 'string' }, general: { type: 'string' }, ratio: { type: 'string' }, base: { type: 'string' },
      out: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (!args) return 0;
  const v = args.values;
  const ratio = numFlag('--ratio', required(MIX, '--ratio', v.ratio))!;
  const summary = await writeMix({
    domain: inputFile('--domain', required(MIX, '--domain', v.domain)),
    general: inputFile('--general', required(MIX, '--general', v.general)),
    ratio, out: outputFile('--out', required(MIX, '--out', v.out)), force: v.force ?? false,
    ...(v.base !== undefined ? { baseDir: inputDir('--base', v.base) } : {}),
  });
  printJson(summary);
  return 0;
}
