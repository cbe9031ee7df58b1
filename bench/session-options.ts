// ORT session settings per precision, measured: prepacking on vs `disable_prepacking`, and intra-op
// threads 1 vs all cores. Each configuration is one `minivl bench` process (its own peak RSS), run
// interleaved over rounds. Shorter inputs than bench/compare (prefill 256, decode 16 steps at 512).
//   flock /tmp/minivl-heavy.lock node --import tsx bench/session-options.ts --dir /work/ckpt/internvl2-1b [--dtypes fp32,int8,int4] [--rounds 1]
import { execFile } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';

const { values } = parseArgs({ options: { dir: { type: 'string', default: '/work/ckpt/internvl2-1b' }, dtypes: { type: 'string', default: 'fp32,int8,int4' }, rounds: { type: 'string', default: '1' } } });
const root = new URL('..', import.meta.url).pathname;
const la = () => loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`machine: ${cpus()[0]?.model} x${availableParallelism()} | node ${process.version} | load ${la()}`);
const run = promisify(execFile);
const configs: { label: string; args: string[] }[] = [
  { label: 'prepack, all threads', args: [] },
  { label: 'disable_prepacking', args: ['--disable-prepacking'] },
  { label: 'prepack, 1 thread', args: ['--threads', '1'] },
];
console.log('| dtype | settings | warm load s | vision ms/tile | prefill tok/s | decode tok/s @512 | peak RSS GiB |');
console.log('|---|---|---|---|---|---|---|');
for (let r = 0; r < Number(values.rounds); r++) {
  for (const dtype of values.dtypes!.split(',')) {
    for (const c of configs) {
      const { stdout } = await run(process.execPath, [join(root, 'bin/minivl.mjs'), 'bench', '--model', values.dir!, '--dtype', dtype, '--prefill', '256', '--context', '512', '--steps', '16', ...c.args, '--json'], { maxBuffer: 1 << 22, timeout: 1800_000 });
      const b = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number>;
      console.log(`| ${dtype} | ${c.label} | ${b.warm_load_s!.toFixed(2)} | ${b.vision_ms_per_tile!.toFixed(0)} | ${b.prefill_tok_s!.toFixed(1)} | ${b.decode_tok_s!.toFixed(1)} | ${b.peak_rss_gib!.toFixed(2)} |  (load ${la()})`);
    }
  }
}
