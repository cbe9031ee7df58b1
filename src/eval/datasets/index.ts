/** Reads a benchmark's data files from the data folder with its toolkit's reader. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fail, MinivlError } from '../../errors.ts';
import type { BenchDef, Toolkit } from '../benchmarks.ts';
import { toolkitSpec } from '../benchmarks.ts';
import { ItemCollector, type DataProblem, type ReadResult } from './types.ts';

export type { EvalItem, DataProblem, ReadResult, ImageRef } from './types.ts';

/** The data file of each part of the benchmark, or a one-line error naming what was looked for. */
export function locateBenchFiles(bench: BenchDef, toolkit: Toolkit | undefined, dataDir: string): Array<{ part: string; rel: string; path: string }> {
  const { spec, toolkit: t } = toolkitSpec(bench, toolkit);
  return spec.parts.map((p) => {
    const rel = p.files.find((f) => existsSync(join(dataDir, f)));
    if (rel === undefined) fail(`${bench.name} (${t}): no data file under ${dataDir} (expected ${p.files.join(' or ')})`);
    return { part: p.name, rel, path: join(dataDir, rel) };
  });
}

export function readBench(bench: BenchDef, toolkit: Toolkit | undefined, dataDir: string): ReadResult {
  const { spec } = toolkitSpec(bench, toolkit);
  const out = new ItemCollector();
  const files = locateBenchFiles(bench, toolkit, dataDir);
  for (const f of files) {
    const part = spec.parts.find((p) => p.name === f.part)!;
    try {
      spec.read(f.path, f.rel, part, dataDir, out);
    } catch (e) {
      // A file that cannot be parsed at all is that benchmark's problem, not the whole run's.
      if (!(e instanceof MinivlError)) throw e;
      out.problem(f.rel, e.message);
    }
  }
  return { items: out.items, problems: inFileOrder(out.problems, files.map((f) => f.rel)), files: files.map((f) => f.rel) };
}

/** Problems sorted by file (in reading order), then line or entry number. */
function inFileOrder(problems: DataProblem[], files: string[]): DataProblem[] {
  const key = (p: DataProblem): [number, number] => {
    const m = /^(.*?)(?::(\d+)|#(\d+))?$/.exec(p.location)!;
    return [files.indexOf(m[1]!), Number(m[2] ?? m[3] ?? -1)];
  };
  return problems
    .map((p, i) => ({ p, i, k: key(p) }))
    .sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1] || a.i - b.i)
    .map((x) => x.p);
}
