import { KdiveError } from '../../errors.js';
import { KernelSymbols } from '../../session/kernel-symbols.js';
import { isModuleLocation, openSession, type SessionEvent } from '../../session/session.js';
import type { SourceTree } from '../../session/source-tree.js';
import type { ProgressReporter } from '../../progress/progress.js';
import { stopToJson, stopToText } from '../output/stop-report.js';
import { attachTarget } from './flag-values.js';

export interface RunAttachedOptions {
  attach: string;
  vmlinux?: string;
  break: string[];
  json?: boolean;
  /** Seconds to wait for a breakpoint. */
  timeout: number;
  source?: SourceTree;
  progress: ProgressReporter;
}

/**
 * `kdive run --attach`: a kernel kdive did not start. Attach, insert the breakpoints, run until the
 * first stop, print it with its backtrace as after a boot, then take the breakpoints out and
 * detach, leaving the kernel running. Exit 0 after a breakpoint, 124 when none was hit in time.
 */
export async function runAttached(opts: RunAttachedOptions): Promise<number> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const attach = attachTarget(opts.attach);
  if (!opts.vmlinux) throw new KdiveError('--attach needs --vmlinux FILE (the symbols of the running kernel)', 2);
  if (opts.break.length === 0) throw new KdiveError('--attach needs at least one --break LOCATION to wait for', 2);
  const symbols = await KernelSymbols.open(opts.vmlinux);
  try {
    for (const location of opts.break) if (!isModuleLocation(location)) await symbols.checkLocation(location);
  } catch (err) {
    await symbols.close();
    throw err;
  }
  const session = await openSession({ attach, vmlinux: opts.vmlinux, symbols, progress: opts.progress });
  let failed = true;
  try {
    for (const location of opts.break) {
      const bp = await session.addBreakpoint(location);
      if (!opts.json) out(`Breakpoint ${bp.id} at 0x${bp.address.toString(16)}: ${location}`);
    }
    if (!opts.json) out(`Attached to ${opts.attach}; waiting for a breakpoint (up to ${opts.timeout} s).`);
    const giveUp = new AbortController();
    const timer = setTimeout(() => giveUp.abort(new KdiveError(`no breakpoint was hit within ${opts.timeout} s (--timeout); kdive detached, the kernel runs on`, 124)), opts.timeout * 1000);
    let event: SessionEvent;
    try {
      event = await session.resume(giveUp.signal);
    } finally {
      clearTimeout(timer);
    }
    if (event.kind === 'exit') throw new KdiveError(`the stub reported that the target exited (${opts.attach}); nothing to detach from`);
    const report = { event, args: await session.argumentRegisters(event.threadId), backtrace: await session.backtrace(event.threadId) };
    if (opts.source) for (const f of report.backtrace.frames) if (f.file && f.line) f.source = opts.source.line(f.file, f.line);
    if (opts.json) out(JSON.stringify(stopToJson(report)));
    else out(`\n${stopToText(report)}\n`);
    failed = false;
  } finally {
    // Breakpoints out and detached (the kernel runs on). When something already failed, that is the
    // one line to report: a detach that fails after it adds nothing the user can act on.
    const closed = session.close();
    // Already failed: that error is the line to show, not the detach's.
    if (failed) await closed.catch(() => undefined);
    else await closed;
  }
  if (!opts.json) out(`Detached from ${opts.attach}; the kernel runs on.`);
  return 0;
}
