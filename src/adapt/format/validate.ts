/**
 * Validation of one JSONL record against what the trainer accepts (adaptation.md §2, training.md §4):
 * every problem is reported with the file, line and field it concerns, so a data set can be fixed
 * before an 8-GPU job trips over it. Errors make the trainer reject or mis-train the record; warnings
 * are legal but almost always unintended.
 */
import { MinivlError } from '../../errors.ts';
import { IMAGE_PLACEHOLDER } from '../../prompt/index.ts';
import { normalizedBoxProblem, parseBoxes } from './boxes.ts';
import type { DatasetLine } from './meta.ts';
import { recordImages, recordKind, type ChatRecord } from './record.ts';

export interface Issue {
  severity: 'error' | 'warning';
  file: string;
  /** 1-based line in the file (0: the file as a whole). */
  line: number;
  /** JSON path of the field, e.g. `conversations[1].value`; '' for the whole line. */
  field: string;
  message: string;
}

/** `file:line: field: message`, the form every tool prints issues in. */
export function formatIssue(i: Issue): string {
  return `${i.file}:${i.line}: ${i.field ? `${i.field}: ` : ''}${i.message}`;
}

const VIDEO_PLACEHOLDER = '<video>';
/** A DriveLM object tag in stitched 0–1000 coordinates, `<c1,CAM_BACK,[560,776]>`. */
const CTAG_RE = /<c\d+,(CAM_[A-Z_]+),\[(-?[\d.]+),(-?[\d.]+)\]>/g;

/** Parses one line; a line that is not a valid record throws a MinivlError `file:line: field: message`. */
export function parseRecordLine(line: Pick<DatasetLine, 'file' | 'lineNo' | 'text'>): ChatRecord {
  const { record, issues } = validateLine(line);
  const err = issues.find((i) => i.severity === 'error');
  if (err || !record) throw new MinivlError(formatIssue(err ?? issues[0]!));
  return record;
}

/** JSON-parses and validates one line. */
export function validateLine(line: Pick<DatasetLine, 'file' | 'lineNo' | 'text'>): { record?: ChatRecord; issues: Issue[] } {
  let value: unknown;
  try {
    value = JSON.parse(line.text);
  } catch (e) {
    const what = line.text.trim() === '' ? 'empty line' : `not valid JSON (${(e as Error).message.split('\n')[0]})`;
    return { issues: [{ severity: 'error', file: line.file, line: line.lineNo, field: '', message: what }] };
  }
  return validateRecord(value, { file: line.file, line: line.lineNo });
}

/** Validates a parsed record; `record` is set when it has the basic shape (issues may still hold errors). */
export function validateRecord(value: unknown, loc: { file: string; line: number }): { record?: ChatRecord; issues: Issue[] } {
  const issues: Issue[] = [];
  const err = (field: string, message: string) => issues.push({ severity: 'error', file: loc.file, line: loc.line, field, message });
  const warn = (field: string, message: string) => issues.push({ severity: 'warning', file: loc.file, line: loc.line, field, message });

  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    err('', 'expected a JSON object with "conversations"');
    return { issues };
  }
  const r = value as Record<string, unknown>;
  if (r.id !== undefined && typeof r.id !== 'string' && typeof r.id !== 'number') err('id', 'must be a string or a number');
  checkMediaFields(r, err);
  const convs = r.conversations;
  if (!Array.isArray(convs) || convs.length === 0) {
    err('conversations', Array.isArray(convs) ? 'is empty' : 'missing or not a list of {from, value} turns');
    return { issues };
  }
  let shapeOk = true;
  convs.forEach((t, i) => {
    const f = `conversations[${i}]`;
    if (typeof t !== 'object' || t === null || Array.isArray(t)) {
      err(f, 'expected {"from": "human"|"gpt", "value": "..."}');
      shapeOk = false;
      return;
    }
    const turn = t as Record<string, unknown>;
    if (typeof turn.value !== 'string') {
      err(`${f}.value`, 'missing or not a string');
      shapeOk = false;
    }
    if (turn.from !== 'human' && turn.from !== 'gpt') {
      const hint = turn.from === 'system' ? ' (the InternVL2 templates have no system turn; the system prompt comes from the template)' : '';
      err(`${f}.from`, `must be "human" or "gpt", got ${JSON.stringify(turn.from)}${hint}`);
      shapeOk = false;
    }
  });
  if (!shapeOk) return { issues };
  const record = r as unknown as ChatRecord;
  checkTurns(record, err, warn);
  checkPlaceholders(record, err);
  checkCoordinates(record, err);
  return { record, issues };
}

type Report = (field: string, message: string) => void;

function checkMediaFields(r: Record<string, unknown>, err: Report): void {
  const img = r.image;
  if (img !== undefined && img !== null) {
    if (Array.isArray(img)) {
      img.forEach((p, i) => {
        if (typeof p !== 'string' || p === '') err(`image[${i}]`, 'must be a non-empty path string');
      });
    } else if (typeof img !== 'string') err('image', 'must be a path string or a list of path strings');
  }
  if (r.video !== undefined && r.video !== null && typeof r.video !== 'string') err('video', 'must be a path string');
  for (const k of ['width', 'height', 'length'] as const) {
    const v = r[k];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= (k === 'length' ? 0 : 1))) err(k, `must be a ${k === 'length' ? 'token count' : 'positive integer'}, got ${JSON.stringify(v)}`);
  }
  const n = Array.isArray(img) ? img.length : undefined;
  for (const k of ['width_list', 'height_list'] as const) {
    const v = r[k];
    if (v === undefined) continue;
    if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 1)) err(k, 'must be a list of positive integers');
    else if (n !== undefined && v.length !== n) err(k, `has ${v.length} entries for ${n} images`);
  }
}

function checkTurns(r: ChatRecord, err: Report, warn: Report): void {
  const turns = r.conversations;
  const offset = turns[0]!.from === 'gpt' ? 1 : 0;
  if (offset === 1) warn('conversations[0].from', 'the first turn is from gpt; the trainer drops it');
  for (let i = offset; i < turns.length; i++) {
    const want = (i - offset) % 2 === 0 ? 'human' : 'gpt';
    if (turns[i]!.from !== want) {
      err(`conversations[${i}].from`, `expected "${want}" (turns must alternate human, gpt, ...), got "${turns[i]!.from}"`);
      return;
    }
  }
  let answers = 0;
  for (let i = offset; i < turns.length; i++) {
    const t = turns[i]!;
    if (t.from === 'gpt') {
      answers++;
      if (t.value.trim() === '') err(`conversations[${i}].value`, 'empty answer');
    } else if (t.value.trim() === '') warn(`conversations[${i}].value`, 'empty question');
  }
  if (answers === 0) err('conversations', 'no gpt answer: nothing would be supervised');
  else if (turns[turns.length - 1]!.from === 'human') warn(`conversations[${turns.length - 1}]`, 'the last question has no answer');
}

/**
 * `<image>` count vs images as the loader sees it: a single image gets `<image>\n` prepended to the raw first
 * turn when missing (before a leading gpt turn is dropped) and exactly one placeholder is expanded; a
 * multi-image record needs one placeholder per image; a text record must have none.
 */
function checkPlaceholders(r: ChatRecord, err: Report): void {
  const kind = recordKind(r);
  const turns = r.conversations;
  const count = (ts: readonly { value: string }[], p: string) => ts.reduce((n, t) => n + t.value.split(p).length - 1, 0);
  const afterDrop = (ts: typeof turns) => (ts[0]!.from === 'gpt' ? ts.slice(1) : ts);
  if (kind === 'image') {
    const firstHas = turns[0]!.value.includes(IMAGE_PLACEHOLDER);
    const eff = afterDrop(turns);
    const n = count(eff, IMAGE_PLACEHOLDER) + (!firstHas && turns[0]!.from === 'human' ? 1 : 0);
    if (n === 0) err('conversations', 'no <image> placeholder left after the leading gpt turn is dropped (the trainer rejects the record)');
    else if (n > 1) err('conversations', `${n} <image> placeholders for 1 image (the extra ones would stay literal text)`);
  } else if (kind === 'multi-image') {
    const want = (r.image as string[]).length;
    const n = count(afterDrop(turns), IMAGE_PLACEHOLDER);
    if (n !== want) err('conversations', `${n} <image> placeholder(s) for ${want} images (multi-image records need one per image, e.g. "Image-1: <image>\\n...")`);
  } else if (kind === 'video') {
    const n = count(turns, VIDEO_PLACEHOLDER) + (turns[0]!.value.includes(VIDEO_PLACEHOLDER) ? 0 : 1);
    if (n !== 1) err('conversations', `${n} <video> placeholders (a video record takes one, in the first turn)`);
    if (count(turns, IMAGE_PLACEHOLDER) > 0) err('conversations', 'a video record must not contain <image> (frames are inserted for <video>)');
  } else if (count(turns, IMAGE_PLACEHOLDER) > 0) {
    err('conversations', 'a text-only record (no "image") contains <image>; add the image or remove the placeholder');
  }
  if (kind !== 'video' && count(turns, VIDEO_PLACEHOLDER) > 0) err('conversations', '<video> in a record without "video"');
}

function checkCoordinates(r: ChatRecord, err: Report): void {
  r.conversations.forEach((t, i) => {
    const f = `conversations[${i}].value`;
    for (const b of parseBoxes(t.value)) {
      if (b.error) err(f, b.error);
      for (const box of b.boxes) {
        const p = normalizedBoxProblem(box);
        if (p) err(f, p);
      }
    }
    for (const m of t.value.matchAll(CTAG_RE)) {
      const x = Number(m[2]);
      const y = Number(m[3]);
      if (!(x >= 0 && x <= 1000 && y >= 0 && y <= 1000)) err(f, `object tag ${m[0]} is outside the stitched image's 0..1000 range`);
    }
  });
}

/** The paths a record refers to (images in order, or the video). */
export function recordMedia(r: ChatRecord): string[] {
  return recordKind(r) === 'video' ? [r.video as string] : recordImages(r);
}
