import { createRequire } from 'node:module';

type CliProgress = typeof import('cli-progress');
/** cli-progress, loaded for the first bar (a terminal and a known total): most runs draw none. */
let cliProgressModule: CliProgress | undefined;
const cliProgress = (): CliProgress => (cliProgressModule ??= createRequire(import.meta.url)('cli-progress') as CliProgress);
import type { ProgressReporter, ProgressTask } from '../../progress/progress.js';

/**
 * Progress on stderr: a bar on a terminal, plain lines otherwise (logs, CI), nothing when
 * quiet. Plain lines come at each 10 % step or every ~2 s, so a log stays readable. The bar
 * uses no colour at all (NO_COLOR is honoured by never emitting any); on a terminal it only
 * moves the cursor.
 */
export class TerminalProgress implements ProgressReporter {
  private readonly tty: boolean;
  private readonly quiet: boolean;

  /** `tty` overrides the guess from the stream (a TTY, and not under CI). */
  constructor(opts: { quiet?: boolean; stream?: NodeJS.WritableStream & { isTTY?: boolean }; tty?: boolean } = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.quiet = opts.quiet ?? false;
    this.tty = opts.tty ?? (Boolean(this.stream.isTTY) && !process.env.CI);
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
    const bar = new (cliProgress().SingleBar)(
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
      cliProgress().Presets.legacy,
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
    let lastPct = 0;
    let lastAt = started;
    let max = total;
    const mb = (n: number) => (n / (1 << 20)).toFixed(0);
    const amount = (done: number, of: number) => (unit === 'bytes' ? `${mb(done)}/${mb(of)} MB` : `${done}/${of}${unit ? ` ${unit}` : ''}`);
    this.stream.write(`${label}...\n`);
    return {
      update: (done, newTotal) => {
        if (newTotal) max = newTotal;
        if (!max) return;
        const pct = Math.min(100, Math.floor((done / max) * 100));
        const now = Date.now();
        // A line per 10 % step, or every ~2 s while it moves at all: readable in a log, alive in CI.
        const nextStep = Math.floor(lastPct / 10) * 10 + 10;
        if (pct >= nextStep || (pct > lastPct && now - lastAt >= 2000)) {
          lastPct = pct;
          lastAt = now;
          this.stream.write(`${label}: ${pct}% (${amount(done, max)})\n`);
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
