/**
 * The InternVL chat JSONL record (adaptation.md §2): the one format every domain converter writes and
 * both `minivl finetune` and the official `internvl_chat` trainer read.
 */

/** One dialogue turn. `from` is `human` or `gpt` for the InternVL2 templates. */
export interface Turn {
  from: string;
  value: string;
}

/** One line of a training JSONL file. Unknown extra fields are kept (the trainer ignores them). */
export interface ChatRecord {
  id?: number | string;
  /** A path (single image) or a list of paths (multi-image), relative to the dataset `root`. */
  image?: string | string[];
  /** A video file or frame folder, relative to `root`. */
  video?: string;
  width?: number;
  height?: number;
  width_list?: number[];
  height_list?: number[];
  conversations: Turn[];
  /** Pre-computed token length (length-grouped sampler only). */
  length?: number;
  [extra: string]: unknown;
}

export type RecordKind = 'image' | 'multi-image' | 'video' | 'text';

/** The record kind, decided in the reference's priority order: non-empty `image`, then `video`, else text. */
export function recordKind(r: Pick<ChatRecord, 'image' | 'video'>): RecordKind {
  const img = r.image;
  if (img !== undefined && img !== null && (typeof img === 'string' ? img !== '' : Array.isArray(img) && img.length > 0)) {
    return Array.isArray(img) ? 'multi-image' : 'image';
  }
  if (typeof r.video === 'string' && r.video !== '') return 'video';
  return 'text';
}

/** The image paths of a record in `<image>` order ([] for video and text records). */
export function recordImages(r: Pick<ChatRecord, 'image' | 'video'>): string[] {
  const kind = recordKind(r);
  if (kind === 'image') return [r.image as string];
  if (kind === 'multi-image') return [...(r.image as string[])];
  return [];
}

/** Serialises a record as one JSONL line (field order as given; no trailing newline). */
export function recordToLine(r: ChatRecord): string {
  return JSON.stringify(r);
}
