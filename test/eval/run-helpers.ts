// Shared by the eval run tests: a tiny random checkpoint, the CLI as a child process, reading a store.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BIN } from '../helpers/cli.ts';
import { ROOT } from '../helpers/paths.ts';

/** `minivl dev random-checkpoint --like internvl2-1b --tiny` into `dir/ckpt`. */
export function tinyCheckpoint(dir: string): string {
  const out = join(dir, 'ckpt');
  const r = spawnSync(process.execPath, [BIN, 'dev', 'random-checkpoint', '--like', 'internvl2-1b', '--tiny', '--out', out], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`random-checkpoint failed: ${r.stderr}`);
  return out;
}

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
  json: any;
}

export function cli(...args: string[]): CliRun {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8' });
  let json: unknown = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = null;
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

/** The CLI without blocking this process's event loop (needed when it talks to a server of this process). */
export function cliAsync(...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('close', (status) => {
      let json: unknown = null;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = null;
      }
      resolve({ status, stdout, stderr, json });
    });
  });
}

/** Starts the CLI without waiting (for the kill test). */
export function cliSpawn(...args: string[]) {
  return spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Quick flags that keep the tiny model fast (explicit departures from the reference settings). */
export const QUICK = ['--max-num', '1', '--max-new-tokens', '4'];

export interface StoredItem {
  bench: string;
  id: string;
  status: string;
  prediction: string;
  prompt_hash: string;
  output_ids: string;
  finished_at: string;
}

export function storedItems(storeFile: string, bench?: string): StoredItem[] {
  const db = new Database(storeFile, { readonly: true, fileMustExist: true });
  try {
    const sql = 'SELECT bench, id, status, prediction, prompt_hash, output_ids, finished_at FROM items' + (bench ? ' WHERE bench = ?' : '') + ' ORDER BY bench, seq';
    return (bench ? db.prepare(sql).all(bench) : db.prepare(sql).all()) as StoredItem[];
  } finally {
    db.close();
  }
}

export function storedScores(storeFile: string): Array<{ bench: string; score: number | null; judge: string }> {
  const db = new Database(storeFile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT bench, score, judge FROM results ORDER BY bench').all() as Array<{ bench: string; score: number | null; judge: string }>;
  } finally {
    db.close();
  }
}

/** Item-level outcome without timestamps: what must be equal between an interrupted and a whole run. */
export const outcome = (items: StoredItem[]) => items.map(({ bench, id, status, prediction, prompt_hash, output_ids }) => ({ bench, id, status, prediction, prompt_hash, output_ids }));
