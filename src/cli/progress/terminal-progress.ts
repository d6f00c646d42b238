import cliProgress from 'cli-progress';
import type { ProgressReporter, ProgressTask } from '../../progress/progress.js';

/**
 * Progress on stderr: a bar on a terminal, plain lines otherwise (logs, CI), nothing when
 * quiet. Plain lines come at most every 10 % or 5 s, so a log stays readable.
 */
export class TerminalProgress implements ProgressReporter {
  private readonly tty: boolean;
  private readonly quiet: boolean;

  constructor(opts: { quiet?: boolean; stream?: NodeJS.WritableStream & { isTTY?: boolean } } = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.quiet = opts.quiet ?? false;
    this.tty = Boolean(this.stream.isTTY) && !process.env.CI;
  }

  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean };

  note(message: string): void {
    if (!this.quiet) this.stream.write(`${message}\n`);
  }

  start(label: string, total?: number, unit?: string): ProgressTask {
    if (this.quiet) return { update() {}, finish() {}, fail() {} };
    if (this.tty && total) return this.bar(label, total, unit);
    return this.lines(label, total, unit);
  }

  private bar(label: string, total: number, unit?: string): ProgressTask {
    const scale = unit === 'bytes' ? 1 / (1 << 20) : 1;
    const suffix = unit === 'bytes' ? ' MB' : '';
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% {value}/{total}${suffix}`,
        stream: this.stream as NodeJS.WritableStream,
        hideCursor: true,
        clearOnComplete: false,
        barCompleteChar: '#',
        barIncompleteChar: '-',
        noTTYOutput: false,
        formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? String(Math.round(v)) : String(v)),
      },
      cliProgress.Presets.legacy,
    );
    bar.start(Math.round(total * scale), 0);
    return {
      update: (done, newTotal) => {
        if (newTotal) bar.setTotal(Math.round(newTotal * scale));
        bar.update(Math.round(done * scale));
      },
      finish: (message) => {
        bar.update(Math.round(total * scale));
        bar.stop();
        if (message) this.stream.write(`${message}\n`);
      },
      fail: (message) => {
        bar.stop();
        this.stream.write(`${label}: failed${message ? `: ${message}` : ''}\n`);
      },
    };
  }

  private lines(label: string, total?: number, unit?: string): ProgressTask {
    const started = Date.now();
    let lastPct = -1;
    let lastAt = 0;
    let max = total;
    const fmt = (n: number) => (unit === 'bytes' ? `${(n / (1 << 20)).toFixed(0)} MB` : String(n));
    this.stream.write(`${label}...\n`);
    return {
      update: (done, newTotal) => {
        if (newTotal) max = newTotal;
        if (!max) return;
        const pct = Math.floor((done / max) * 100);
        const now = Date.now();
        if (pct >= lastPct + 10 || now - lastAt > 5000) {
          lastPct = pct;
          lastAt = now;
          this.stream.write(`${label}: ${pct}% (${fmt(done)}/${fmt(max)})\n`);
        }
      },
      finish: (message) => {
        this.stream.write(`${label}: done in ${((Date.now() - started) / 1000).toFixed(1)} s${message ? ` (${message})` : ''}\n`);
      },
      fail: (message) => {
        this.stream.write(`${label}: failed${message ? `: ${message}` : ''}\n`);
      },
    };
  }
}
