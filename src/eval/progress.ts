/** The progress line of a long eval run on stderr: items done, items/s over this session, ETA. */

export interface ProgressOptions {
  label: string;
  /** Items this session has to answer. */
  total: number;
  /** Items found already answered in the store (resumed). */
  resumed: number;
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Non-TTY streams get a line at most this often (ms); a TTY is redrawn in place. */
  intervalMs?: number;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export class Progress {
  private done = 0;
  private failed = 0;
  private readonly t0 = performance.now();
  private lastPrint = 0;
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean };

  constructor(private readonly o: ProgressOptions) {
    this.stream = o.stream ?? process.stderr;
  }

  /** Items answered per second in this session (0 before the first). */
  get rate(): number {
    const s = (performance.now() - this.t0) / 1000;
    return this.done > 0 && s > 0 ? this.done / s : 0;
  }

  tick(ok: boolean): void {
    this.done++;
    if (!ok) this.failed++;
    const nowMs = performance.now();
    const tty = this.stream.isTTY === true;
    if (this.done === this.o.total || tty || nowMs - this.lastPrint >= (this.o.intervalMs ?? 10_000)) {
      this.lastPrint = nowMs;
      this.stream.write(`${tty ? '\r\x1b[K' : ''}${this.line()}${tty && this.done < this.o.total ? '' : '\n'}`);
    }
  }

  line(): string {
    const rate = this.rate;
    const left = this.o.total - this.done;
    const eta = rate > 0 ? formatDuration(left / rate) : '?';
    const resumed = this.o.resumed > 0 ? ` (+${this.o.resumed} resumed)` : '';
    const failed = this.failed > 0 ? `, ${this.failed} failed` : '';
    return `eval ${this.o.label}: ${this.done}/${this.o.total} items${resumed}${failed}, ${rate.toFixed(3)} items/s, ETA ${eta}`;
  }

  /** Ends a TTY line left open. */
  finish(): void {
    if (this.stream.isTTY === true && this.done > 0 && this.done < this.o.total) this.stream.write('\n');
  }
}
