// CLI start-up and time to first token of the README's chat command, for this checkout's built CLI
// (bin/minivl.mjs → dist/) and for a reference checkout (e.g. the previous commit, whose bin ran src/
// through tsx), measured alternately in the same run on the same tiny checkpoint and image.
// Run: npm run build && node --import tsx bench/package-startup.ts --before DIR [--runs 5]
//   (DIR: `git worktree add DIR <rev>` with node_modules linked in; the checkout must be built)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../test/helpers/paths.ts';
import { median } from './stats.ts';

const { values } = parseArgs({ options: { before: { type: 'string' }, runs: { type: 'string', default: '5' } } });
if (!values.before) throw new Error('--before DIR is required');
const runs = Number(values.runs);
const bins = { before: join(values.before, 'bin', 'minivl.mjs'), after: join(ROOT, 'bin', 'minivl.mjs') };
const image = join(ROOT, 'assets', 'demo.png');

/** Wall time of `node bin args` until exit, and until the first byte on stdout. */
function time(bin: string, args: string[]): Promise<{ totalMs: number; firstByteMs: number }> {
  return new Promise((ok, fail) => {
    const t0 = performance.now();
    let first = -1;
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.once('data', () => (first = performance.now() - t0));
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? ok({ totalMs: performance.now() - t0, firstByteMs: first }) : fail(new Error(`${bin} ${args[0]}: exit ${code}`))));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'minivl-startup-'));
try {
  const ckpt = join(dir, 'internvl2-1b');
  const w = spawnSync(process.execPath, [bins.after, 'dev', 'random-checkpoint', '--like', 'internvl2-1b', '--tiny', '--out', ckpt], { encoding: 'utf8' });
  if (w.status !== 0) throw new Error(w.stderr);
  const chat = ['chat', '--model', ckpt, '--image', image, '--do-sample', '--seed', '1', '--max-new-tokens', '32', 'Describe the image.'];
  console.log(`machine: ${cpus().length}x ${cpus()[0]?.model}, node ${process.version}; ${runs} runs each, alternating; medians`);
  const res: Record<string, { help: number[]; ttft: number[]; total: number[] }> = { before: { help: [], ttft: [], total: [] }, after: { help: [], ttft: [], total: [] } };
  for (let i = 0; i < runs + 1; i++) {
    for (const k of ['before', 'after'] as const) {
      const h = await time(bins[k], ['--help']);
      const c = await time(bins[k], chat);
      if (i === 0) continue; // warm-up: file cache
      res[k].help.push(h.totalMs);
      res[k].ttft.push(c.firstByteMs);
      res[k].total.push(c.totalMs);
    }
  }
  for (const k of ['before', 'after'] as const) {
    const r = res[k];
    console.log(`${k.padEnd(6)} minivl --help ${median(r.help).toFixed(0)} ms | chat: first token ${median(r.ttft).toFixed(0)} ms, done ${median(r.total).toFixed(0)} ms  (${bins[k]})`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
