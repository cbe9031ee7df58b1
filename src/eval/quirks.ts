/**
 * The reference quirks of evaluation.md §11 that touch scoring. Each is reproduced by default (published numbers
 * come from the quirky code); naming it in `fixQuirks` applies the corrected rule instead.
 */
import { fail } from '../errors.ts';

export const QUIRKS = {
  /** §11.1 ChartQA: relative error divides by the gold number (textbook), and a model answer of 0 is numeric. */
  'chartqa-relaxed': 'relaxed accuracy relative to the gold number, 0 treated as a number',
  /** §11.2 ANLS: nl ≥ 0.5 scores 0 (textbook threshold) and the length uses the normalised strings. */
  'anls-threshold': 'ANLS with nl >= 0.5 -> 0 and the normalised lengths',
  /** §11.3 VLMEvalKit MathVista: credit free-form `text`/`list` answers by normalised string equality. */
  'mathvista-free-form': 'credit MathVista text/list answers (normalised string equality)',
  /** §11.4 can_infer: a lone "A" among more than 3 tokens is an article, not a letter (VLMEvalKit's VERBOSE rule). */
  'can-infer-article': "can_infer ignores the article 'A' in answers of more than 3 words",
  /** §11.5 InternVL post_process: a single lower-case option letter is upper-cased. */
  'post-process-case': 'post_process upper-cases a single lower-case letter',
  /** §11.6 DriveLM: clamped coordinates print as floats; the match F1 counts integer coordinates too. */
  'drivelm-numbers': 'DriveLM prints clamped bounds as floats and matches integer coordinates',
  /** §11.8 MME-RW extraction: the two fused answer prefixes are removed separately. */
  'mme-rw-prefixes': 'MME-RealWorld removes "The best option is" and "The correct option is" separately',
  /** §11.9 RSVQA: trailing punctuation and whitespace are stripped before comparing. */
  'rsvqa-punctuation': 'RSVQA strips punctuation/whitespace before comparing',
  /** §11.10 DIOR-RSVG: IoU without the +1 pixel convention, correct at IoU >= 0.5. */
  'dior-iou': 'DIOR-RSVG IoU without +1 pixel areas, threshold IoU >= 0.5',
} as const;

export type QuirkName = keyof typeof QUIRKS;
export const QUIRK_NAMES = Object.keys(QUIRKS) as QuirkName[];

/** `true` = every quirk fixed; a list = those; undefined/false = the reference behaviour everywhere. */
export type FixQuirks = boolean | readonly QuirkName[] | undefined;

export function fixedQuirks(fix: FixQuirks): QuirkName[] {
  if (fix === true) return [...QUIRK_NAMES];
  if (!fix) return [];
  for (const q of fix) if (!(q in QUIRKS)) fail(`unknown quirk '${q}' (known: ${QUIRK_NAMES.join(', ')})`);
  return [...fix];
}

export const isFixed = (fix: FixQuirks, q: QuirkName): boolean => fix === true || (Array.isArray(fix) && fix.includes(q));
