/**
 * The results store of `minivl eval run`: one SQLite file (better-sqlite3, WAL, synchronous=FULL) that
 * receives every item the moment it is answered, so a Ctrl-C, crash or SIGKILL loses at most the item in
 * flight and a rerun continues from the store. It also holds the data problems found while reading, the
 * scores, and every judge request with its reply (re-scoring replays them instead of asking again).
 */
import Database from 'better-sqlite3';
import { errnoCode, fail } from '../errors.ts';
import type { DataProblem } from './datasets/types.ts';

export const STORE_FORMAT = 'minivl-eval-store/1';

/** What a benchmark run was made with; two runs (or shards) may share a store only if these agree. */
export interface BenchRun {
  bench: string;
  toolkit: string;
  /** JSON of BenchSettings plus the overrides used (e.g. a smaller --max-num). */
  settings: string;
  /** Fingerprint of the checkpoint (config + weights sample). */
  model: string;
  modelName: string;
  /** `k/n` or '' for the whole benchmark; merged stores list their shards (`0,1/2`). */
  shard: string;
  /** Items of the whole benchmark before sharding and --limit (malformed rows not counted). */
  totalItems: number;
  dataFiles: string;
}

export interface ItemRow {
  bench: string;
  id: string;
  /** Position in the benchmark's item order (before sharding): keeps reports and merges in file order. */
  seq: number;
  location: string;
  /** Hash of the model input as described before running (question, image bytes, settings, model). */
  inputHash: string;
  /** Hash of the exact prompt token ids the model was fed ('' when the item failed before tokenizing). */
  promptHash: string;
  status: 'done' | 'error';
  prediction: string;
  error: string;
  promptTokens: number;
  outputTokens: number;
  /** JSON array of the generated token ids (stop token included). */
  outputIds: string;
  ms: number;
  /** JSON of the item's scoring-line fields (DESIGN.md `eval score`). */
  fields: string;
}

export interface ScoreRow {
  id: string;
  extracted: string | null;
  score: number | null;
  correct: boolean | null;
  detail: string | null;
}

export interface BenchResult {
  bench: string;
  protocol: string;
  /** As the published table shows it; null when the benchmark has no local metric. */
  score: number | null;
  /** Judge base URL and model, or '' for rule-only scoring. */
  judge: string;
  items: number;
  errors: number;
  problems: number;
  /** JSON: per-part and per-category breakdown, notes. */
  summary: string;
  scoredAt: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  bench TEXT PRIMARY KEY, toolkit TEXT NOT NULL, settings TEXT NOT NULL, model TEXT NOT NULL, model_name TEXT NOT NULL,
  shard TEXT NOT NULL, total_items INTEGER NOT NULL, data_files TEXT NOT NULL, started_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
  bench TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, location TEXT NOT NULL, input_hash TEXT NOT NULL,
  prompt_hash TEXT NOT NULL, status TEXT NOT NULL, prediction TEXT NOT NULL, error TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, output_ids TEXT NOT NULL, ms REAL NOT NULL, fields TEXT NOT NULL,
  finished_at TEXT NOT NULL, PRIMARY KEY (bench, id));
CREATE TABLE IF NOT EXISTS problems (bench TEXT NOT NULL, location TEXT NOT NULL, item_id TEXT, message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scores (
  bench TEXT NOT NULL, id TEXT NOT NULL, extracted TEXT, score REAL, correct INTEGER, detail TEXT, PRIMARY KEY (bench, id));
CREATE TABLE IF NOT EXISTS results (
  bench TEXT PRIMARY KEY, protocol TEXT NOT NULL, score REAL, judge TEXT NOT NULL, items INTEGER NOT NULL,
  errors INTEGER NOT NULL, problems INTEGER NOT NULL, summary TEXT NOT NULL, scored_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS judge (
  key TEXT PRIMARY KEY, bench TEXT NOT NULL, item_id TEXT NOT NULL, model TEXT NOT NULL, request TEXT NOT NULL,
  reply TEXT NOT NULL, created_at TEXT NOT NULL);
`;

const now = () => new Date().toISOString();

export class EvalStore {
  private constructor(
    readonly db: Database.Database,
    readonly path: string,
  ) {}

  /** Opens (or with `create`, creates) a store; a file that is not a minivl store is refused. */
  static open(path: string, opts: { create: boolean; readonly?: boolean }): EvalStore {
    let db: Database.Database;
    try {
      db = new Database(path, { fileMustExist: !opts.create, readonly: opts.readonly ?? false });
    } catch (e) {
      fail(`${path}: cannot open the results store (${errnoCode(e)})`);
    }
    try {
      if (!opts.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL'); // an answered item survives even a power loss
        db.pragma('busy_timeout = 5000');
        db.exec(SCHEMA);
        db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run('format', STORE_FORMAT);
      }
      const format = (db.prepare("SELECT value FROM meta WHERE key = 'format'").get() as { value: string } | undefined)?.value;
      if (format !== STORE_FORMAT) fail(`${path}: not a minivl eval results store (format ${format ?? 'missing'})`);
    } catch (e) {
      db.close();
      if ((e as Error).name === 'MinivlError') throw e;
      fail(`${path}: not a minivl eval results store (${(e as Error).message.split('\n')[0]})`);
    }
    return new EvalStore(db, path);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  meta(key: string): string | null {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
  }

  run(bench: string): BenchRun | null {
    const r = this.db.prepare('SELECT * FROM runs WHERE bench = ?').get(bench) as Record<string, unknown> | undefined;
    return r ? rowToRun(r) : null;
  }

  runs(): BenchRun[] {
    return (this.db.prepare('SELECT * FROM runs ORDER BY rowid').all() as Record<string, unknown>[]).map(rowToRun);
  }

  putRun(r: BenchRun): void {
    this.db
      .prepare(`INSERT OR REPLACE INTO runs (bench, toolkit, settings, model, model_name, shard, total_items, data_files, started_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(r.bench, r.toolkit, r.settings, r.model, r.modelName, r.shard, r.totalItems, r.dataFiles, now());
  }

  replaceProblems(bench: string, problems: readonly DataProblem[]): void {
    const ins = this.db.prepare('INSERT INTO problems (bench, location, item_id, message) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM problems WHERE bench = ?').run(bench);
      for (const p of problems) ins.run(bench, p.location, p.id ?? null, p.message);
    })();
  }

  problems(bench: string): DataProblem[] {
    return (this.db.prepare('SELECT location, item_id, message FROM problems WHERE bench = ? ORDER BY rowid').all(bench) as Array<{ location: string; item_id: string | null; message: string }>)
      .map((p) => (p.item_id === null ? { location: p.location, message: p.message } : { location: p.location, id: p.item_id, message: p.message }));
  }

  /** Input hash of every item already answered (done or failed) for this benchmark. */
  finished(bench: string): Map<string, string> {
    const rows = this.db.prepare('SELECT id, input_hash FROM items WHERE bench = ?').all(bench) as Array<{ id: string; input_hash: string }>;
    return new Map(rows.map((r) => [r.id, r.input_hash]));
  }

  /** Commits one answered item (its own transaction: durable before the next item starts). */
  putItem(r: ItemRow): void {
    this.db
      .prepare(`INSERT OR REPLACE INTO items (bench, id, seq, location, input_hash, prompt_hash, status, prediction, error, prompt_tokens, output_tokens, output_ids, ms, fields, finished_at)
                VALUES (@bench, @id, @seq, @location, @inputHash, @promptHash, @status, @prediction, @error, @promptTokens, @outputTokens, @outputIds, @ms, @fields, @finishedAt)`)
      .run({ ...r, finishedAt: now() });
  }

  items(bench: string): ItemRow[] {
    return (this.db.prepare('SELECT * FROM items WHERE bench = ? ORDER BY seq').all(bench) as Record<string, unknown>[]).map(rowToItem);
  }

  putScores(result: BenchResult, rows: readonly ScoreRow[]): void {
    const ins = this.db.prepare('INSERT INTO scores (bench, id, extracted, score, correct, detail) VALUES (?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM scores WHERE bench = ?').run(result.bench);
      for (const s of rows) ins.run(result.bench, s.id, s.extracted, s.score, s.correct === null ? null : s.correct ? 1 : 0, s.detail);
      this.db
        .prepare(`INSERT OR REPLACE INTO results (bench, protocol, score, judge, items, errors, problems, summary, scored_at)
                  VALUES (@bench, @protocol, @score, @judge, @items, @errors, @problems, @summary, @scoredAt)`)
        .run(result);
    })();
  }

  result(bench: string): BenchResult | null {
    const r = this.db.prepare('SELECT * FROM results WHERE bench = ?').get(bench) as Record<string, unknown> | undefined;
    return r ? rowToResult(r) : null;
  }

  results(): BenchResult[] {
    return (this.db.prepare('SELECT * FROM results ORDER BY rowid').all() as Record<string, unknown>[]).map(rowToResult);
  }

  scores(bench: string): ScoreRow[] {
    return (this.db.prepare('SELECT id, extracted, score, correct, detail FROM scores WHERE bench = ? ORDER BY rowid').all(bench) as Array<Record<string, unknown>>).map((r) => ({
      id: r.id as string,
      extracted: r.extracted as string | null,
      score: r.score as number | null,
      correct: r.correct === null ? null : r.correct === 1,
      detail: r.detail as string | null,
    }));
  }

  /** A stored judge reply for this exact request (key = hash of judge model + request), if any. */
  judgeReply(key: string): string | null {
    return (this.db.prepare('SELECT reply FROM judge WHERE key = ?').get(key) as { reply: string } | undefined)?.reply ?? null;
  }

  putJudge(key: string, bench: string, itemId: string, model: string, request: string, reply: string): void {
    this.db.prepare('INSERT OR REPLACE INTO judge (key, bench, item_id, model, request, reply, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(key, bench, itemId, model, request, reply, now());
  }

  judgeCount(bench: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM judge WHERE bench = ?').get(bench) as { n: number }).n;
  }
}

function rowToRun(r: Record<string, unknown>): BenchRun {
  return {
    bench: r.bench as string, toolkit: r.toolkit as string, settings: r.settings as string, model: r.model as string,
    modelName: r.model_name as string, shard: r.shard as string, totalItems: r.total_items as number, dataFiles: r.data_files as string,
  };
}

function rowToItem(r: Record<string, unknown>): ItemRow {
  return {
    bench: r.bench as string, id: r.id as string, seq: r.seq as number, location: r.location as string, inputHash: r.input_hash as string,
    promptHash: r.prompt_hash as string, status: r.status as 'done' | 'error', prediction: r.prediction as string, error: r.error as string,
    promptTokens: r.prompt_tokens as number, outputTokens: r.output_tokens as number, outputIds: r.output_ids as string, ms: r.ms as number, fields: r.fields as string,
  };
}

function rowToResult(r: Record<string, unknown>): BenchResult {
  return {
    bench: r.bench as string, protocol: r.protocol as string, score: r.score as number | null, judge: r.judge as string,
    items: r.items as number, errors: r.errors as number, problems: r.problems as number, summary: r.summary as string, scoredAt: r.scored_at as string,
  };
}
