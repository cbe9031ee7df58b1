/**
 * DriveLM-nuScenes (evaluation.md §10.1): InternVL's post-processing of object coordinates back to camera pixels,
 * and the challenge's `evaluation.py` parts (accuracy, point-match F1, graph gating, ChatGPT score, final score).
 */
import { pyRound, pyStrFloat, pyStrip } from '../python.ts';
import type { JudgeRequest } from '../judge.ts';

/** Grid position (column, row) of each camera in the stitched 2688×896 image (adaptation.md §4.5). */
const CAMERAS: Record<string, [number, number]> = {
  CAM_FRONT_LEFT: [0, 0],
  CAM_FRONT: [1, 0],
  CAM_FRONT_RIGHT: [2, 0],
  CAM_BACK_LEFT: [0, 1],
  CAM_BACK: [1, 1],
  CAM_BACK_RIGHT: [2, 1],
};

const OBJ_RE = /<c[^,]*,\s*[^,]*,\s*\[\s*-?[0-9]*\.?[0-9]+\s*,\s*-?[0-9]*\.?[0-9]+\s*\]\s*>/g;

/**
 * Python `max(0, min(hi, v))` then `round(v, 1)`: an int bound wins ties and prints without decimals (quirk §11.6);
 * `floats` (fixed) prints every coordinate as a float.
 */
function clampPrint(v: number, hi: number, floats: boolean): string {
  if (v >= hi) return floats ? pyStrFloat(hi) : String(hi);
  if (v <= 0) return floats ? '0.0' : '0';
  return pyStrFloat(pyRound(v, 1));
}

/**
 * InternVL's DriveLM `post_process`: `<c1,CAM_FRONT,[500,250]>` (0–1000 in the stitched image) becomes
 * `<c1,CAM_FRONT,800.0,450.0>` (camera pixels). As the reference: the answer is stripped, each match is split at
 * its commas (so a camera written with a space before it is no camera and stays as it is), the coordinates are
 * JSON-parsed (a match JSON rejects stays as it is), and every occurrence of a match is replaced.
 */
export function drivelmPostprocess(text: string, opts: { floats?: boolean } = {}): string {
  let pred = pyStrip(text);
  for (const match of pred.match(OBJ_RE) ?? []) {
    const parts = match.replace(/[<>]/g, '').split(',');
    const [tag, cam] = [parts[0]!, parts[1]!];
    const pos = CAMERAS[cam];
    if (!pos) continue;
    let xy: unknown;
    try {
      xy = JSON.parse(parts.slice(2).join(','));
    } catch {
      continue;
    }
    if (!Array.isArray(xy) || xy.length !== 2 || !xy.every((v) => typeof v === 'number')) continue;
    let cx = (xy[0] / 1000) * 2688 - pos[0] * 896;
    let cy = (xy[1] / 1000) * 896 - pos[1] * 448;
    cx = (cx / 896) * 1600;
    cy = (cy / 448) * 900;
    pred = pred.split(match).join(`<${tag},${cam},${clampPrint(cx, 1600, !!opts.floats)},${clampPrint(cy, 900, !!opts.floats)}>`);
  }
  return pred;
}

/** `re.findall(r'\d+\.\d+')` paired as (x, y), an odd last number dropped; `integers` (fixed) counts whole numbers. */
export function drivelmPoints(s: string, integers = false): [number, number][] {
  const nums = (s.match(integers ? /(?<![\w.])\d+(?:\.\d+)?(?![\w.])/g : /\d+\.\d+/g) ?? []).map(Number);
  if (nums.length % 2) nums.pop();
  const out: [number, number][] = [];
  for (let i = 0; i < nums.length; i += 2) out.push([nums[i]!, nums[i + 1]!]);
  return out;
}

/** `match_result`: greedy nearest GT point by L1 distance, a match under 16 px; F1 and the matched GT points. */
export function drivelmMatch(answer: string, gt: string, integers = false): { f1: number; matched: [number, number][] } {
  const pred = drivelmPoints(answer, integers);
  const gts = drivelmPoints(gt, integers);
  const length = gts.length;
  const matched: [number, number][] = [];
  let tp = 0;
  let fp = 0;
  for (const p of pred) {
    let best = Infinity;
    let bestId = -1;
    gts.forEach((g, i) => {
      const d = Math.abs(p[0] - g[0]) + Math.abs(p[1] - g[1]);
      if (d < best) {
        best = d;
        bestId = i;
      }
    });
    if (best < 16) {
      tp++;
      matched.push(gts[bestId]!);
      gts.splice(bestId, 1);
    } else fp++;
  }
  const fn = length - tp;
  const precision = tp / (tp + fp + 1e-8);
  const recall = tp / (tp + fn + 1e-8);
  return { f1: (2 * precision * recall) / (precision + recall + 1e-8), matched };
}

/** `eval_graph`: every coordinate pair in the question is one of the graph's matched points. */
export function drivelmInGraph(question: string, graph: readonly [number, number][], integers = false): boolean {
  return drivelmPoints(question, integers).every((q) => graph.some((g) => g[0] === q[0] && g[1] === q[1]));
}

export interface DriveLMLanguage {
  bleu: [number, number, number, number];
  rougeL: number;
  cider: number;
}

/** Language = (B1+B2+B3+B4)/4/3 + ROUGE_L/3 + CIDEr/10/3. */
export const drivelmLanguage = (l: DriveLMLanguage): number => (l.bleu[0] + l.bleu[1] + l.bleu[2] + l.bleu[3]) / 4 / 3 + l.rougeL / 3 + l.cider / 10 / 3;

/** Final = 0.4·ChatGPT/100 + 0.2·Language + 0.2·Match/100 + 0.2·Accuracy (ChatGPT and Match in 0–100). */
export function drivelmFinal(p: { chatgpt: number; language: number; match: number; accuracy: number }): number {
  return 0.4 * (p.chatgpt / 100) + 0.2 * p.language + 0.2 * (p.match / 100) + 0.2 * p.accuracy;
}

/** The challenge's ChatGPT rating request (`gpt_eval.py`): system + user message, temperature 0.6, max_tokens 3000. */
export function drivelmRatingRequest(answer: string, gt: string): JudgeRequest {
  const prompt =
    'Rate my answer based on the correct answer out of 100, with higher scores indicating that the answer is closer to the correct answer, ' +
    'and you should be accurate to single digits like 62, 78, 41,etc. Output the number only' +
    `This is the correct answer: ${gt}This is my answer: ${answer}`;
  return {
    model: 'gpt-3.5-turbo',
    messages: [
      { role: 'system', content: 'an evaluator who rates my answer based on the correct answer' },
      { role: 'user', content: prompt },
    ],
    temperature: 0.6,
    maxTokens: 3000,
  };
}
