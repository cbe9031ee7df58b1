// The SIGKILL-resume check the fine-tuning tests share: run `minivl finetune` once whole, once killed
// (SIGKILL) as soon as its first checkpoint is on disk and then resumed, and require the same adapter
// bytes. Returns both run folders for the caller's own log comparisons.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from '../../helpers/cli.ts';
import { ROOT } from '../../helpers/paths.ts';

export function runFinetuneCli(args: string[]): { child: ReturnType<typeof spawn>; done: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, 'finetune', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const done = new Promise<number | null>((res) => child.on('exit', (code) => { if (code && code !== 0) process.stderr.write(stderr); res(code); }));
  return { child, done };
}

/** Log rows (one parsed object per step) of a run folder. */
export function logRows(dir: string): Record<string, number>[] {
  return readFileSync(join(dir, 'log.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number>);
}

export async function assertKilledRunResumesBitwise(flags: (out: string) => string[], whole: string, broken: string): Promise<void> {
  assert.equal(await runFinetuneCli(flags(whole)).done, 0);
  const first = runFinetuneCli(flags(broken));
  // Kill as soon as the first checkpoint is on disk (mid-run: the later steps remain).
  await new Promise<void>((res, rej) => {
    const t = setInterval(() => {
      if (existsSync(join(broken, 'latest.json'))) { clearInterval(t); first.child.kill('SIGKILL'); res(); }
    }, 20);
    first.done.then((code) => { clearInterval(t); if (code === 0) rej(new Error('the run finished before it could be killed')); });
  });
  await first.done;
  assert.equal(existsSync(join(broken, 'adapter')), false);
  assert.equal(await runFinetuneCli([...flags(broken), '--resume']).done, 0);
  const a = readFileSync(join(whole, 'adapter', 'adapter_model.safetensors'));
  const b = readFileSync(join(broken, 'adapter', 'adapter_model.safetensors'));
  assert.ok(a.equals(b), 'adapters differ');
}
