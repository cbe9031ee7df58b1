/**
 * Download progress on stderr: a live bar (bytes, rate, ETA) redrawn in place when the stream is a
 * terminal; otherwise a few plain lines (start, each quarter of a large file, end) so logs stay short.
 */

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** Decimal units, as the Hub displays sizes: 1880000000 → "1.88 GB". */
export function formatBytes(n: number): string {
  let u = 0;
  let v = n;
  while (v >= 1000 && u < UNITS.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${UNITS[u]}`;
}

/** 83 → "1m23s", 5 → "5s", 7300 → "2h01m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One progress line: `name  42% 790 MB/1.88 GB  12.3 MB/s  ETA 1m28s` (total unknown → no % / ETA). */
export function formatProgressLine(name: string, done: number, total: number | null, bytesPerSec: number): string {
  const rate = bytesPerSec > 0 ? `${formatBytes(bytesPerSec)}/s` : '-- B/s';
  if (total === null || total <= 0) return `${name}  ${formatBytes(done)}  ${rate}`;
  const pct = Math.min(100, Math.floor((done / total) * 100));
  const eta = bytesPerSec > 0 ? formatDuration((total - done) / bytesPerSec) : '?';
  return `${name}  ${String(pct).padStart(3)}% ${formatBytes(done)}/${formatBytes(total)}  ${rate}  ETA ${eta}`;
}

/** Files below this size get no plain-text progress lines (configs, tokenizer files). */
const QUIET_BELOW = 1_000_000;
/** Files above this size also get quarter-way lines in plain-text mode. */
const MILESTONES_ABOVE = 100_000_000;
const REDRAW_MS = 100;

export class DownloadProgress {
  private readonly tty: boolean;
  private readonly startAt = Date.now();
  private lastDraw = 0;
  private nextQuarter = 1;
  private drawn = false;

  /** `resumedFrom`: bytes already on disk (not counted in the rate). */
  constructor(
    private readonly out: ProgressStream | null,
    private readonly name: string,
    private readonly total: number | null,
    private readonly resumedFrom = 0,
  ) {
    this.tty = Boolean(out?.isTTY);
    if (!out || this.tty || (total !== null && total < QUIET_BELOW)) return;
    const resumed = resumedFrom > 0 ? `, resuming at ${formatBytes(resumedFrom)}` : '';
    out.write(`minivl: downloading ${name} (${total === null ? 'size unknown' : formatBytes(total)}${resumed})\n`);
    if (total !== null && total > 0) this.nextQuarter = Math.floor((resumedFrom / total) * 4) + 1;
  }

  private rate(done: number): number {
    const sec = (Date.now() - this.startAt) / 1000;
    return sec > 0 ? (done - this.resumedFrom) / sec : 0;
  }

  update(done: number): void {
    const out = this.out;
    if (!out) return;
    if (this.tty) {
      const now = Date.now();
      if (now - this.lastDraw < REDRAW_MS) return;
      this.lastDraw = now;
      this.draw(done);
      return;
    }
    const total = this.total;
    if (total === null || total < MILESTONES_ABOVE) return;
    while (this.nextQuarter < 4 && done >= (total * this.nextQuarter) / 4) {
      out.write(`minivl: ${formatProgressLine(this.name, done, total, this.rate(done))}\n`);
      this.nextQuarter++;
    }
  }

  private draw(done: number): void {
    const line = formatProgressLine(this.name, done, this.total, this.rate(done));
    const width = this.out?.columns ?? 0;
    this.out!.write(`\r${width > 1 ? line.slice(0, width - 1) : line}\x1b[K`);
    this.drawn = true;
  }

  /** Final line: completed (with the average rate) or left unfinished. */
  done(done: number, ok: boolean): void {
    const out = this.out;
    if (!out) return;
    if (this.tty) {
      if (ok || this.drawn) {
        this.draw(done);
        out.write('\n');
      }
      return;
    }
    if (this.total !== null && this.total < QUIET_BELOW) return;
    const sec = (Date.now() - this.startAt) / 1000;
    out.write(
      ok
        ? `minivl: downloaded ${this.name} (${formatBytes(done)} in ${formatDuration(sec)}, ${formatBytes(this.rate(done))}/s)\n`
        : `minivl: download of ${this.name} stopped at ${formatBytes(done)}\n`,
    );
  }
}
