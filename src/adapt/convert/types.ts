/** What every converter shares: its context (flags, folders) and what it returns. */
import type { ChatRecord } from '../format/record.ts';

/** A source record that was not converted, and why; `location` names the file and line / key. */
export interface Skip {
  location: string;
  /** Short category used for the counts (e.g. "missing image"). */
  reason: string;
  detail?: string;
}

/** A source record converted after a documented repair (e.g. a box clamped to the image). */
export interface Fix {
  location: string;
  note: string;
}

/** Flags of `minivl adapt convert`, each used by the converters it names. */
export interface ConvertFlags {
  imagePrefix?: string | undefined;
  stitchDir?: string | undefined;
  split?: string | undefined;
  labels?: string | undefined;
  prefix?: string | undefined;
  suffix?: string | undefined;
  lettered?: boolean | undefined;
  task?: string | undefined;
  imageField?: string | undefined;
  questionField?: string | undefined;
  answerField?: string | undefined;
  boxField?: string | undefined;
  prompt?: string | undefined;
  suffixVqa?: boolean | undefined;
  lang?: string | undefined;
}

export interface ConvertContext {
  /** The --in path. */
  input: string;
  /** The --out JSONL path. */
  out: string;
  /** Folder the source's image paths are relative to. */
  images: string;
  force: boolean;
  flags: ConvertFlags;
  onProgress?: (done: number, total?: number) => void;
}

export interface ConvertOutcome {
  records: ChatRecord[];
  skipped: Skip[];
  fixed: Fix[];
  /** Source records read (converted + skipped; a source record may yield several output records). */
  sourceRecords: number;
  /** Folder the records' image paths are relative to (the meta `root`). */
  root: string;
  /** Other files written (stitched images). */
  written?: number;
}

export interface Converter {
  describe: string;
  convert(ctx: ConvertContext): Promise<ConvertOutcome>;
}

/** The answer suffix of the reference's short-answer VQA prompts. */
export const SHORT_ANSWER_SUFFIX = ' Answer the question using a single word or phrase.';
