/**
 * Multiple-choice scoring shared by MMBench, MMMU and GMAI-MMBench (evaluation.md §2.1, §8, §9):
 * InternVL's `post_process`, VLMEvalKit's judge-assisted extraction (`extract_answer_from_item`), vanilla MCQ
 * (`eval_vanilla`) and CircularEval groups (`eval_circular_group`).
 */
import { pyStrip } from '../python.ts';
import type { Judge, JudgeRequest } from '../judge.ts';
import { canInfer, FAIL_MSG, type CanInferOptions, type Choices } from './can-infer.ts';

/** InternVL `post_process(pred, options)` (§8.1); `upperCase` = quirk §11.5 fixed. */
export function postProcess(pred: string, choices: Choices, opts: { upperCase?: boolean } = {}): string {
  const p = pyStrip(pred);
  const letters = Object.keys(choices);
  if ([...p].length === 1) return opts.upperCase && letters.includes(p.toUpperCase()) ? p.toUpperCase() : p;
  if (p !== '' && letters.includes(p[0]!)) return p[0]!;
  for (const l of letters) if (p.includes(choices[l]!)) return l;
  return p;
}

const MATCH_PREFIX =
  'You are an AI assistant who will help me to match an answer with several options of a single-choice question. ' +
  'You are provided with a question, several options, and an answer, and you need to find which option is most similar to the answer. ' +
  'If the meaning of all options are significantly different from the answer, output Z. ' +
  'Your should output a single uppercase character in A, B, C, D (if they are valid options), and Z. \n' +
  'Example 1: \nQuestion: What is the main object in image?\nOptions: A. teddy bear B. rabbit C. cat D. dog\n' +
  'Answer: a cute teddy bear\nYour output: A\n' +
  'Example 2: \nQuestion: What is the main object in image?\nOptions: A. teddy bear B. rabbit C. cat D. dog\n' +
  'Answer: Spider\nYour output: Z\n' +
  'Example 3: \n';

const MATCH_PREFIX_CN =
  '你是一个帮助我匹配答案与单选题中多个选项的 AI 助手。' +
  '你会被提供：一个问题，多个选项，一个答案。你的任务是找到与答案意义最相近的选项。' +
  '如果所有选项的意义都与答案显著不同，则输出 Z。' +
  '你应该输出一个单个的大写字母，例如 A, B, C, D（如果它们是有效选项），或 Z。' +
  '例 1:' +
  '问题: 图中最主要的物体是什么?\n选项: A. 泰迪熊 B. 兔子 C. 猫 D. 狗\n答案: 一只可爱的泰迪熊\n输出: A\n' +
  '例 2: \n' +
  '问题: 图中最主要的物体是什么?\n选项: A. 泰迪熊 B. 兔子 C. 猫 D. 狗\n答案: 蜘蛛\n输出: Z\n' +
  '例 3: \n';

/** VLMEvalKit `cn_string`: any CJK unified ideograph selects the Chinese prompt. */
export const isChinese = (s: string): boolean => /[\u4e00-\u9fff]/.test(s);

/** `build_option_str`. */
function optionString(choices: Choices): string {
  return `There are several options: \n${Object.keys(choices).map((l) => `${l}. ${choices[l]}\n`).join('')}`;
}

/** The option-matching prompt (`build_prompt` / `build_prompt_cn`), judge-prompts.md §1. */
export function matchPrompt(question: string, choices: Choices, prediction: string): string {
  const opts = optionString(choices);
  if (isChinese(question)) return `${MATCH_PREFIX_CN}问题: ${question}?\n选项: ${opts}\n答案: ${prediction}\n输出: `;
  return `${MATCH_PREFIX}Question: ${question}?\nOptions: ${opts}\nAnswer: ${prediction}\nYour output: `;
}

/** The reference's judge for option matching (`chatgpt-0125`), its OpenAIWrapper defaults. */
export const MCQ_JUDGE_MODEL = 'gpt-3.5-turbo-0125';

export function matchRequest(question: string, choices: Choices, prediction: string): JudgeRequest {
  return { model: MCQ_JUDGE_MODEL, messages: [{ role: 'user', content: matchPrompt(question, choices, prediction) }], temperature: 0, maxTokens: 2048 };
}

/** How an answer letter was obtained. */
export type Via = 'rule' | 'judge' | 'random' | 'none';

export interface Extracted {
  letter: string;
  via: Via;
}

export interface McqContext {
  judge?: Judge;
  /** Seeded choice for the reference's random letter after 3 failed judge tries. */
  random: (n: number) => number;
  canInfer: CanInferOptions;
}

/**
 * `extract_answer_from_item` (VLMEvalKit 2024-10): can_infer on the prediction as it is; else (with a judge) up to 3
 * judge tries parsed with can_infer; else a random letter among the options and Z. Without a judge: 'Z' (a miss).
 */
export async function extractLetter(question: string, choices: Choices, prediction: string, ctx: McqContext): Promise<Extracted> {
  const rule = canInfer(prediction, choices, ctx.canInfer);
  if (rule) return { letter: rule, via: 'rule' };
  if (!ctx.judge) return { letter: 'Z', via: 'none' };
  for (let t = 0; t < 3; t++) {
    const reply = await ctx.judge.ask(matchRequest(question, choices, prediction));
    if (reply.includes(FAIL_MSG)) continue;
    const got = canInfer(reply, choices, ctx.canInfer);
    if (got) return { letter: got, via: 'judge' };
  }
  const pool = 'Z' in choices ? [] : [...Object.keys(choices), 'Z'];
  return { letter: pool.length ? pool[ctx.random(pool.length)]! : 'Z', via: 'random' };
}

export interface CircularRow {
  question: string;
  choices: Choices;
  prediction: string;
  gt: string;
}

/**
 * `eval_circular_group` (§8.2): prefetch every copy with can_infer on the raw prediction; a wrong letter fails the
 * group at once, all right passes it; otherwise the unparsed copies go to the judge (without one: the group fails).
 */
export async function circularGroup(rows: CircularRow[], ctx: McqContext): Promise<{ hit: boolean; via: Via; letters: (string | false)[] }> {
  const pre = rows.map((r) => canInfer(r.prediction, r.choices, ctx.canInfer));
  for (let i = 0; i < rows.length; i++) if (pre[i] && pre[i] !== rows[i]!.gt) return { hit: false, via: 'rule', letters: pre };
  if (pre.every((p, i) => p === rows[i]!.gt)) return { hit: true, via: 'rule', letters: pre };
  if (!ctx.judge) return { hit: false, via: 'none', letters: pre };
  let via: Via = 'judge';
  const letters = [...pre];
  for (let i = 0; i < rows.length; i++) {
    if (letters[i]) continue;
    const r = rows[i]!;
    const got = await extractLetter(r.question, r.choices, r.prediction, ctx);
    letters[i] = got.letter;
    if (got.via === 'random') via = 'random';
    if (got.letter !== r.gt) return { hit: false, via, letters };
  }
  return { hit: true, via, letters };
}

/** A small seeded PRNG (mulberry32) for the reference's random fallback letter, so a rescore is reproducible. */
export function seededRandom(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}
