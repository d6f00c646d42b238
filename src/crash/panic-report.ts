import { hex } from '../format/hex.js';
import type { Breakpoint } from '../session/breakpoints.js';
import type { Frame } from '../session/frames.js';
import type { Session, SessionEvent } from '../session/session.js';
import { symbolizeTrace, type SymbolizedTraceLine } from './oops-symbolizer.js';

/** What kdive says about a kernel panic it caught. */
export interface PanicReport {
  /** panic()'s message, read from its format argument (`Fatal exception`, `sysrq triggered crash`). */
  message: string;
  /** The oops the console printed before the panic, as it came. */
  oops: string;
  /** The oops's `func+0xOFF/0xSIZE` entries with file:line and inlined frames. */
  oopsFrames: SymbolizedTraceLine[];
  /** The live backtrace at panic(). */
  frames: Frame[];
  /** The last lines of the printk ring. */
  dmesgTail: string[];
}

/**
 * Panics are caught with a breakpoint on panic() itself: it works on any kernel, also without
 * the pvpanic driver (a module in Debian's cloud kernel), and stops before the kernel reboots.
 */
export function catchPanics(session: Session): Promise<Breakpoint> {
  return session.addBreakpoint('panic');
}

export function isPanicStop(event: SessionEvent, catcher: Breakpoint | undefined): boolean {
  return catcher !== undefined && event.kind === 'breakpoint' && event.breakpoints.some((b) => b.id === catcher.id);
}

/** The oops the console shows last: from its first line (`BUG:`, `Oops:`, `general protection`...) to the end. */
export function lastOops(console: string): string {
  const lines = console.split(/\r?\n/);
  let from = -1;
  for (let i = lines.length - 1; i >= 0 && from < 0; i--) if (/\b(BUG: |Oops: |general protection fault|kernel BUG at|WARNING: CPU: )/.test(lines[i]!)) from = i;
  if (from < 0) return '';
  if (from > 0 && /sysrq: Trigger a crash/.test(lines[from - 1]!)) from--;
  return lines.slice(from).join('\n').trim();
}

export async function panicReport(session: Session, event: SessionEvent & { kind: 'breakpoint' }): Promise<PanicReport> {
  const regs = await session.registers(event.threadId);
  // panic(fmt, ...): the format string is the first argument, in its register at the function's entry.
  const fmtAddress = regs.get(session.arch.argumentRegisters[0]!) ?? 0n;
  const fmt = await session.readMemory(fmtAddress, 128).then((b) => b.subarray(0, b.indexOf(0) < 0 ? 128 : b.indexOf(0)).toString('latin1'), () => `<message at ${hex(fmtAddress)}>`);
  const oops = lastOops(session.vm?.consoleText() ?? '');
  const oopsFrames = (await symbolizeTrace(oops, session.symbols)).flatMap((l) => (l.symbolized ? [l.symbolized] : []));
  const frames = (await session.backtrace(event.threadId)).frames;
  const dmesgTail = (await session.linux.dmesgLines().catch((err: Error) => [`(the printk ring buffer could not be read: ${err.message})`])).slice(-20);
  return { message: fmt.trim(), oops, oopsFrames, frames, dmesgTail };
}
