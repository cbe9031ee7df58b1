/**
 * Every benchmark `minivl eval run` knows: where its data lives under `--data DIR` (the reference's
 * file names), how a row becomes an item, the exact question text and generation settings per toolkit
 * (evaluation.md), and the fields of the scoring line `eval score` takes (DESIGN.md).
 *
 * Default toolkit = the one behind the published number (evaluation.md, first table).
 */
import { fail } from '../errors.ts';
import { readJsonItems } from './datasets/json-items.ts';
import { parsePythonStringList } from './datasets/tsv.ts';
import { ItemCollector, type EvalItem } from './datasets/types.ts';
import { readVlmevalkitTsv, type McqFields } from './datasets/vlmevalkit.ts';
import {
  internvlMmbenchPrompt, internvlVqaPrompt, internvlWithImage, mmeRealWorldPrompt, SHORT_ANSWER,
  vlmevalkitMcqPrompt, vlmevalkitVqaPrompt, vlmevalkitWithImages,
} from './prompts.ts';

export type Toolkit = 'internvl' | 'vlmevalkit';
export const TOOLKITS: readonly Toolkit[] = ['internvl', 'vlmevalkit'];

/** Generation settings of one benchmark under one toolkit (greedy, one beam, thumbnail on: always). */
export interface BenchSettings {
  toolkit: Toolkit;
  /** Max tiles per image (thumbnail excluded). */
  maxNum: number;
  maxNewTokens: number;
  /** HF `min_new_tokens`: the InternVL scripts pass 1, VLMEvalKit nothing (0). */
  minNewTokens: number;
  /** VLMEvalKit MMMU: the first image is upscaled ×2 (bilinear) before tiling. */
  upscaleFirstImage: boolean;
}

/** One data file of a benchmark (ChartQA has two: human and augmented). */
interface Part {
  /** '' for single-file benchmarks; else the id prefix and the name in reports. */
  name: string;
  /** Candidate paths under the data folder, first existing one wins. */
  files: readonly string[];
}

interface ToolkitSpec {
  settings: Omit<BenchSettings, 'toolkit'>;
  parts: readonly Part[];
  read(path: string, name: string, part: Part, dataDir: string, out: ItemCollector): void;
  /** The question passed to chat(), placeholders included. */
  question(item: EvalItem): string;
}

export interface BenchDef {
  name: string;
  title: string;
  /** One of the nine benchmarks of the published table. */
  published: boolean;
  defaultToolkit: Toolkit;
  toolkits: Partial<Record<Toolkit, ToolkitSpec>>;
  /** The fields of this item's `eval score` line besides id and prediction. */
  scoreFields(item: EvalItem): Record<string, unknown>;
  /** False where no local metric exists (test splits scored by a server): outputs are stored and exported only. */
  scored: boolean;
}

// ---- field helpers ---------------------------------------------------------------------------------

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
const mcq = (item: EvalItem): McqFields => item.fields as unknown as McqFields;

/** A Python-literal list cell (`['a', 'b']`) as strings; a plain cell is a one-element list. */
function answerList(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(str);
  const s = str(v);
  return parsePythonStringList(s) ?? [s];
}

function numberOrNull(v: unknown): number | null {
  const n = typeof v === 'number' ? v : Number(str(v));
  return str(v).trim() === '' || !Number.isFinite(n) ? null : n;
}

// ---- readers ---------------------------------------------------------------------------------------

function tsvReader(required: readonly string[], keep?: (c: Record<string, string>) => boolean): ToolkitSpec['read'] {
  return (path, name, _part, dataDir, out) => readVlmevalkitTsv(path, name, { required, keep, imageBases: [dataDir] }, out);
}

/** InternVL `evaluate_vqa.py` JSONL lines: `image`, `question`, `question_id`, `answer`. */
function internvlJsonlReader(opts: { answer: boolean; id: boolean }): ToolkitSpec['read'] {
  return (path, name, part, dataDir, out) =>
    readJsonItems(path, name, {
      idKey: opts.id ? 'question_id' : undefined,
      imageKey: 'image',
      required: opts.answer ? ['question', 'answer'] : ['question'],
      imageBases: [dataDir, `${dataDir}/..`],
      idPrefix: part.name ? `${part.name}/` : undefined,
    }, out);
}

function domainReader(opts: { idKey?: string; imageKey: string; required: string[]; bases: string[]; keep?: (v: Record<string, unknown>) => boolean }): ToolkitSpec['read'] {
  return (path, name, _part, dataDir, out) =>
    readJsonItems(path, name, {
      idKey: opts.idKey,
      imageKey: opts.imageKey,
      required: opts.required,
      imageBases: [dataDir, ...opts.bases.map((b) => `${dataDir}/${b}`)],
      keep: opts.keep,
    }, out);
}

const vlmMcq = (item: EvalItem) => vlmevalkitWithImages(vlmevalkitMcqPrompt(str(item.fields.question), mcq(item).options, mcq(item).hint), item.images.length);
const vlmVqa = (suffix: boolean) => (item: EvalItem) => vlmevalkitWithImages(vlmevalkitVqaPrompt(str(item.fields.question), suffix), item.images.length);
const ivlVqa = (suffix: string) => (item: EvalItem) => internvlWithImage(internvlVqaPrompt(str(item.fields.question), suffix), item.images.length);

/** VLMEvalKit generation: 1024 new tokens, no minimum; `max_num` by dataset name (evaluation.md §1.2). */
const vlm = (maxNum: number, upscaleFirstImage = false) => ({ maxNum, maxNewTokens: 1024, minNewTokens: 0, upscaleFirstImage });
/** InternVL scripts: `min_new_tokens` 1, `max_new_tokens` per dataset. */
const ivl = (maxNum: number, maxNewTokens: number) => ({ maxNum, maxNewTokens, minNewTokens: 1, upscaleFirstImage: false });

const part = (...files: string[]): Part[] => [{ name: '', files }];

function mmbench(lang: 'en' | 'cn'): BenchDef {
  const files = lang === 'en'
    ? ['mmbench/mmbench_test_en_20231003.tsv', 'MMBench_TEST_EN.tsv', 'mmbench/mmbench_dev_en_20231003.tsv', 'MMBench_DEV_EN.tsv']
    : ['mmbench/mmbench_test_cn_20231003.tsv', 'MMBench_TEST_CN.tsv', 'mmbench/mmbench_dev_cn_20231003.tsv', 'MMBench_DEV_CN.tsv'];
  const read = tsvReader(['question']);
  return {
    name: `mmbench-${lang}`,
    title: `MMBench-${lang.toUpperCase()}`,
    published: true,
    defaultToolkit: 'internvl',
    toolkits: {
      internvl: { settings: ivl(6, 100), parts: part(...files), read, question: (it) => internvlWithImage(internvlMmbenchPrompt(str(it.fields.question), mcq(it).options, mcq(it).hint, lang), it.images.length) },
      vlmevalkit: { settings: vlm(6), parts: part(...files), read, question: vlmMcq },
    },
    scoreFields: (it) => ({
      index: Number(it.id), question: str(it.fields.question), options: mcq(it).options, answer: str(it.fields.answer),
      category: str(it.fields.category), 'l2-category': str(it.fields['l2-category']),
    }),
    scored: true,
  };
}

function docLike(name: 'docvqa' | 'infovqa', test: boolean): BenchDef {
  const dir = name === 'docvqa' ? 'docvqa' : 'infographicsvqa';
  const file = `${dir}/${test ? 'test' : 'val'}.jsonl`;
  const vlmFile = `${name === 'docvqa' ? 'DocVQA' : 'InfoVQA'}_${test ? 'TEST' : 'VAL'}.tsv`;
  const maxNum = name === 'docvqa' ? 18 : 24;
  return {
    name: test ? `${name}-test` : name,
    title: `${name === 'docvqa' ? 'DocVQA' : 'InfoVQA'} ${test ? 'test' : 'val'}`,
    published: !test,
    defaultToolkit: 'internvl',
    toolkits: {
      internvl: { settings: ivl(maxNum, 100), parts: part(file), read: internvlJsonlReader({ answer: !test, id: true }), question: ivlVqa(SHORT_ANSWER) },
      vlmevalkit: { settings: vlm(maxNum), parts: part(vlmFile), read: tsvReader(test ? ['question'] : ['question', 'answer']), question: vlmVqa(true) },
    },
    scoreFields: (it) => ({ answer: answerList(it.fields.answer) }),
    scored: !test,
  };
}

const BENCHES: BenchDef[] = [
  {
    name: 'mmmu',
    title: 'MMMU val',
    published: true,
    defaultToolkit: 'vlmevalkit',
    toolkits: {
      vlmevalkit: {
        settings: vlm(12, true),
        parts: part('MMMU_DEV_VAL.tsv'),
        // The TSV holds dev (150) and validation (900) rows; the table scores validation.
        read: tsvReader(['question', 'answer'], (c) => c.split === undefined || c.split === 'validation'),
        question: vlmMcq,
      },
    },
    scoreFields: (it) => {
      const options = mcq(it).options;
      return { question: str(it.fields.question), options, answer: str(it.fields.answer), question_type: Object.keys(options).length > 0 ? 'multiple-choice' : 'open' };
    },
    scored: true,
  },
  {
    name: 'mathvista',
    title: 'MathVista testmini',
    published: true,
    defaultToolkit: 'vlmevalkit',
    toolkits: {
      vlmevalkit: { settings: vlm(6), parts: part('MathVista_MINI.tsv'), read: tsvReader(['question', 'answer', 'question_type', 'answer_type']), question: vlmVqa(false) },
    },
    scoreFields: (it) => ({
      question: str(it.fields.question), question_type: str(it.fields.question_type), answer_type: str(it.fields.answer_type),
      answer: str(it.fields.answer), choices: str(it.fields.choices), answer_option: str(it.fields.answer_option),
      precision: numberOrNull(it.fields.precision),
    }),
    scored: true,
  },
  {
    name: 'ai2d',
    title: 'AI2D',
    published: true,
    defaultToolkit: 'internvl',
    toolkits: {
      internvl: { settings: ivl(6, 10), parts: part('ai2diagram/test_vlmevalkit.jsonl'), read: internvlJsonlReader({ answer: true, id: true }), question: ivlVqa('') },
      vlmevalkit: { settings: vlm(6), parts: part('AI2D_TEST.tsv'), read: tsvReader(['question', 'answer']), question: vlmMcq },
    },
    scoreFields: (it) => ({ answer: it.fields.answer }),
    scored: true,
  },
  {
    name: 'chartqa',
    title: 'ChartQA test',
    published: true,
    defaultToolkit: 'internvl',
    toolkits: {
      internvl: {
        settings: ivl(12, 100),
        parts: [{ name: 'human', files: ['chartqa/test_human.jsonl'] }, { name: 'augmented', files: ['chartqa/test_augmented.jsonl'] }],
        read: internvlJsonlReader({ answer: true, id: false }),
        question: ivlVqa(SHORT_ANSWER),
      },
      vlmevalkit: { settings: vlm(12), parts: part('ChartQA_TEST.tsv'), read: tsvReader(['question', 'answer']), question: vlmVqa(true) },
    },
    scoreFields: (it) => ({ answer: it.fields.answer }),
    scored: true,
  },
  docLike('docvqa', false),
  docLike('infovqa', false),
  {
    name: 'ocrbench',
    title: 'OCRBench',
    published: true,
    defaultToolkit: 'vlmevalkit',
    toolkits: {
      vlmevalkit: { settings: vlm(24), parts: part('OCRBench.tsv'), read: tsvReader(['question', 'answer', 'category']), question: vlmVqa(true) },
    },
    scoreFields: (it) => ({ answer: answerList(it.fields.answer), category: str(it.fields.category) }),
    scored: true,
  },
  mmbench('en'),
  mmbench('cn'),
  docLike('docvqa', true),
  docLike('infovqa', true),
  // ---- domain benchmarks (evaluation.md §10) ----
  {
    name: 'drivelm',
    title: 'DriveLM-nuScenes val',
    published: false,
    defaultToolkit: 'internvl',
    toolkits: {
      internvl: {
        settings: ivl(12, 200),
        parts: part('val/drivelm_val.jsonl', 'drivelm_val.jsonl'),
        read: domainReader({ idKey: 'id', imageKey: 'image', required: ['conversations'], bases: ['images/drivelm/stitch', 'images'] }),
        question: (it) => internvlWithImage(drivelmTurn(it, 0).trim(), it.images.length),
      },
    },
    scoreFields: (it) => ({ question: str(it.fields.question_old ?? drivelmTurn(it, 0)), answer: drivelmTurn(it, 1) }),
    scored: true,
  },
  {
    name: 'mme-realworld',
    title: 'MME-RealWorld (autonomous driving)',
    published: false,
    defaultToolkit: 'internvl',
    toolkits: {
      internvl: {
        settings: ivl(12, 100),
        parts: part('val/MME_RealWorld.json', 'MME_RealWorld.json'),
        read: domainReader({
          idKey: 'Question_id', imageKey: 'Image', required: ['Text', 'Answer choices', 'Ground truth'],
          bases: ['images/MME-RealWorld/data', 'images/MME-RealWorld', 'images'], keep: (v) => v.Subtask === 'Autonomous_Driving',
        }),
        question: (it) => internvlWithImage(mmeRealWorldPrompt(str(it.fields.Text), (it.fields['Answer choices'] as unknown[]).map(str)), it.images.length),
      },
    },
    scoreFields: (it) => ({ choices: (it.fields['Answer choices'] as unknown[]).map(str), answer: str(it.fields['Ground truth']), category: str(it.fields.Category), task: str(it.fields.Task) }),
    scored: true,
  },
  ...(['lr', 'hr-test1', 'hr-test2'] as const).map((v): BenchDef => {
    const file = { lr: 'rsvqa_l_test_instruct.json', 'hr-test1': 'rsvqa_h_test_1_instruct.json', 'hr-test2': 'rsvqa_h_test_2_instruct.json' }[v];
    return {
      name: `rsvqa-${v}`,
      title: `RSVQA-${v.toUpperCase()}`,
      published: false,
      defaultToolkit: 'internvl',
      toolkits: {
        internvl: {
          settings: ivl(12, 50),
          parts: part(`val/${file}`, file),
          read: domainReader({ idKey: 'id', imageKey: 'image', required: ['question', 'gt_answer', 'type'], bases: ['images'] }),
          // evaluate_rs_vqa.py joins with a newline, not a space.
          question: (it) => internvlWithImage(`${str(it.fields.question)}\n${SHORT_ANSWER}`, it.images.length),
        },
      },
      scoreFields: (it) => ({ answer: str(it.fields.gt_answer), type: str(it.fields.type) }),
      scored: true,
    };
  }),
  {
    name: 'dior-rsvg',
    title: 'DIOR-RSVG',
    published: false,
    defaultToolkit: 'internvl',
    toolkits: {
      internvl: {
        settings: ivl(12, 200),
        parts: part('val/dior_rsvg_test.json', 'dior_rsvg_test.json'),
        read: domainReader({ imageKey: 'image', required: ['prompt', 'bbox', 'size'], bases: ['images'] }),
        question: (it) => internvlWithImage(`Detect ${str(it.fields.prompt)}`, it.images.length),
      },
    },
    scoreFields: (it) => ({ bbox: it.fields.bbox, size: it.fields.size }),
    scored: true,
  },
  {
    name: 'gmai-mmbench',
    title: 'GMAI-MMBench val',
    published: false,
    defaultToolkit: 'vlmevalkit',
    toolkits: {
      vlmevalkit: { settings: vlm(6), parts: part('GMAI-MMBench_VAL.tsv', 'GMAI_mm_bench_VAL.tsv'), read: tsvReader(['question', 'answer']), question: vlmMcq },
    },
    scoreFields: (it) => ({ question: str(it.fields.question), options: mcq(it).options, answer: str(it.fields.answer), category: str(it.fields.category) }),
    scored: true,
  },
];

function drivelmTurn(it: EvalItem, k: number): string {
  const conv = it.fields.conversations;
  return Array.isArray(conv) ? str((conv[k] as { value?: unknown } | undefined)?.value) : '';
}

export const BENCH_NAMES: readonly string[] = BENCHES.map((b) => b.name);
/** The nine benchmarks of the published table, in its column order. */
export const PUBLISHED_BENCHES: readonly string[] = ['mmmu', 'mathvista', 'ai2d', 'chartqa', 'docvqa', 'infovqa', 'ocrbench', 'mmbench-en', 'mmbench-cn'];
export const DOMAIN_BENCHES: readonly string[] = ['drivelm', 'mme-realworld', 'rsvqa-lr', 'rsvqa-hr-test1', 'rsvqa-hr-test2', 'dior-rsvg', 'gmai-mmbench'];

export function getBench(name: string): BenchDef {
  return BENCHES.find((b) => b.name === name) ?? fail(`unknown benchmark '${name}' (known: ${BENCH_NAMES.join(', ')}; 'published' = the nine of the table, 'domain' = the domain sets)`);
}

/** `--bench a,b` with the group names `published` and `domain`. */
export function parseBenchList(s: string): BenchDef[] {
  const names = s.split(',').map((x) => x.trim()).filter(Boolean).flatMap((n) => (n === 'published' ? PUBLISHED_BENCHES : n === 'domain' ? DOMAIN_BENCHES : [n]));
  if (names.length === 0) fail('--bench needs at least one benchmark name');
  return [...new Set(names)].map(getBench);
}

export function toolkitSpec(bench: BenchDef, toolkit: Toolkit | undefined): { toolkit: Toolkit; spec: ToolkitSpec } {
  const t = toolkit ?? bench.defaultToolkit;
  const spec = bench.toolkits[t] ?? fail(`${bench.name}: no ${t} protocol (available: ${Object.keys(bench.toolkits).join(', ')})`);
  return { toolkit: t, spec };
}

export function referenceSettings(bench: BenchDef, toolkit?: Toolkit): BenchSettings {
  const { toolkit: t, spec } = toolkitSpec(bench, toolkit);
  return { toolkit: t, ...spec.settings };
}

export type { ToolkitSpec, Part };
