/**
 * What every benchmark reader yields: items in file order, and the problems it found. A malformed row
 * (missing column, bad base64, missing image file, duplicate id) becomes a Problem naming its file and
 * line/row and is counted; it never stops the rest of the file from being read.
 */

/** An image of an item: a file on disk, or bytes carried inside the data file (base64 in a TSV cell). */
export type ImageRef =
  | { kind: 'file'; path: string }
  | { kind: 'base64'; data: string; source: string };

export interface EvalItem {
  /** Unique within the benchmark (the data file's index / question_id / id, as a string). */
  id: string;
  /** `file:line` (JSONL, TSV rows counted from 1 after the header) or `file#index` (JSON arrays). */
  location: string;
  images: ImageRef[];
  /**
   * The question text and whatever the prompt builder needs (hint, options, choices...), plus the
   * fields a scoring line carries (DESIGN.md `eval score` table): answer, category, question_type...
   */
  fields: Record<string, unknown>;
}

export interface DataProblem {
  location: string;
  /** The item id when the row got far enough to have one. */
  id?: string;
  message: string;
}

export interface ReadResult {
  items: EvalItem[];
  problems: DataProblem[];
  /** The data files that were read, relative to the data folder (for the report). */
  files: string[];
}

/** Collects items and problems, refusing duplicate ids (the first occurrence wins, the others are reported). */
export class ItemCollector {
  readonly items: EvalItem[] = [];
  readonly problems: DataProblem[] = [];
  private readonly seen = new Map<string, string>();

  add(item: EvalItem): void {
    const first = this.seen.get(item.id);
    if (first !== undefined) {
      this.problem(item.location, `duplicate id '${item.id}' (first at ${first}); this row is left out`, item.id);
      return;
    }
    this.seen.set(item.id, item.location);
    this.items.push(item);
  }

  problem(location: string, message: string, id?: string): void {
    this.problems.push(id === undefined ? { location, message } : { location, id, message });
  }
}
