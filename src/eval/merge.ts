/**
 * `minivl eval merge`: joins the stores of shards of one run into one store and scores it. Refuses
 * stores made with different checkpoints or settings, the same shard twice, or overlapping items.
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode, fail } from '../errors.ts';
import { getBench } from './benchmarks.ts';
import { STORE_FILE } from './run.ts';
import { scoreStoredBench, type JudgeChoice } from './scoring.ts';
import { EvalStore, type BenchResult, type BenchRun, type ItemRow } from './store.ts';

/** A store file, or a results folder holding one. */
export function storePathOf(p: string): string {
  let st;
  try {
    st = statSync(p);
  } catch (e) {
    fail(`${p}: no such results store (${errnoCode(e)})`);
  }
  return st.isDirectory() ? join(p, STORE_FILE) : p;
}

export interface MergeOptions {
  inputs: string[];
  outDir: string;
  force?: boolean;
  judge: JudgeChoice;
  protocol?: string;
  log?: (l: string) => void;
}

export interface MergeSummary {
  store: string;
  benches: Array<{ bench: string; shards: string; complete: boolean; items: number; result: BenchResult }>;
}

/** `k/n` list of one bench's run → its shard numbers and n ('' = the whole benchmark = all of 1). */
function shardSet(shard: string): { ks: number[]; n: number } {
  if (shard === '') return { ks: [0], n: 1 };
  const [ks, n] = shard.split('/');
  return { ks: ks!.split(',').map(Number), n: Number(n) };
}

export async function evalMerge(o: MergeOptions): Promise<MergeSummary> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (o.inputs.length < 2) fail('eval merge needs at least two stores (shard results folders or .sqlite files)');
  const paths = o.inputs.map(storePathOf);
  const outPath = join(o.outDir, STORE_FILE);
  if (paths.some((p) => p === outPath)) fail(`--out ${o.outDir}: is one of the inputs`);
  if (existsSync(outPath) && !o.force) fail(`--out ${o.outDir}: already holds ${STORE_FILE} (pass --force to replace it)`);
  const inputs = paths.map((p) => EvalStore.open(p, { create: false }));
  try {
    // Check everything before writing anything.
    const byBench = new Map<string, Array<{ store: EvalStore; run: BenchRun }>>();
    for (const s of inputs) for (const run of s.runs()) (byBench.get(run.bench) ?? byBench.set(run.bench, []).get(run.bench)!).push({ store: s, run });
    const plan: Array<{ bench: string; run: BenchRun; items: ItemRow[]; shards: string; complete: boolean; sources: EvalStore[] }> = [];
    for (const [bench, parts] of byBench) {
      const first = parts[0]!.run;
      for (const { store, run } of parts.slice(1)) {
        if (run.model !== first.model) fail(`${store.path}: ${bench} was run with another checkpoint (${run.modelName}) than ${parts[0]!.store.path} (${first.modelName})`);
        if (run.settings !== first.settings) fail(`${store.path}: ${bench} settings differ from ${parts[0]!.store.path} (${run.settings} vs ${first.settings})`);
        if (run.totalItems !== first.totalItems) fail(`${store.path}: ${bench} was read from different data (${run.totalItems} items vs ${first.totalItems})`);
      }
      const n = new Set(parts.map((p) => shardSet(p.run.shard).n));
      if (n.size > 1) fail(`${bench}: the stores split it into different shard counts (${parts.map((p) => p.run.shard || 'all').join(', ')})`);
      const seenK = new Map<number, string>();
      for (const p of parts) {
        for (const k of shardSet(p.run.shard).ks) {
          const prev = seenK.get(k);
          if (prev !== undefined) fail(`${bench}: shard ${k} is in both ${prev} and ${p.store.path}`);
          seenK.set(k, p.store.path);
        }
      }
      const items = new Map<string, { row: ItemRow; from: string }>();
      for (const p of parts) {
        for (const row of p.store.items(bench)) {
          const prev = items.get(row.id);
          if (prev) fail(`${bench}: item '${row.id}' is in both ${prev.from} and ${p.store.path}; the stores overlap`);
          items.set(row.id, { row, from: p.store.path });
        }
      }
      const nn = [...n][0]!;
      const ks = [...seenK.keys()].sort((a, b) => a - b);
      plan.push({
        bench,
        run: first,
        items: [...items.values()].map((x) => x.row).sort((a, b) => a.seq - b.seq),
        shards: nn === 1 ? '' : `${ks.join(',')}/${nn}`,
        complete: ks.length === nn,
        sources: parts.map((p) => p.store),
      });
    }
    try {
      mkdirSync(o.outDir, { recursive: true });
    } catch (e) {
      fail(`--out ${o.outDir}: cannot create (${errnoCode(e)})`);
    }
    if (o.force) for (const suffix of ['', '-wal', '-shm']) rmSync(outPath + suffix, { force: true });
    const out = EvalStore.open(outPath, { create: true });
    const summary: MergeSummary = { store: outPath, benches: [] };
    try {
      out.db.transaction(() => {
        for (const p of plan) {
          out.putRun({ ...p.run, shard: p.shards });
          out.replaceProblems(p.bench, p.sources[0]!.problems(p.bench));
          for (const row of p.items) out.putItem(row);
        }
        for (const s of inputs) {
          const rows = s.db.prepare('SELECT key, bench, item_id, model, request, reply FROM judge').all() as Array<Record<string, string>>;
          for (const r of rows) out.putJudge(r.key!, r.bench!, r.item_id!, r.model!, r.request!, r.reply!);
        }
      })();
      for (const p of plan) {
        if (!p.complete) log(`${p.bench}: only shard(s) ${p.shards} merged; the score covers those items only`);
        const result = await scoreStoredBench(out, getBench(p.bench), { judge: o.judge, protocol: o.protocol });
        summary.benches.push({ bench: p.bench, shards: p.shards, complete: p.complete, items: p.items.length, result });
      }
    } finally {
      out.close();
    }
    return summary;
  } finally {
    for (const s of inputs) s.close();
  }
}
