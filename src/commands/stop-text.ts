import { hex } from '../format/hex.js';
import type { Frame } from '../session/frames.js';
import type { FrameArgument } from '../symbols/dwarf/index.js';
import type { SessionEvent } from '../session/session.js';
import { vmGone, type ReplContext } from './repl-command.js';

/** A frame as gdb's backtrace prints it: `#1  0x... in __do_sys_mkdir (...) at fs/namei.c:4206`; `callee` is frame index-1. */
/**
 * A frame's arguments as gdb prints them by default: with the value the caller passed beside it
 * when the call site says (`dfd=dfd@entry=-100` when the two agree, `mode=<optimized out>, mode@entry=511` when not).
 */
export function formatFrameArgs(args: FrameArgument[] | undefined): string {
  const one = (a: FrameArgument) => {
    if (a.entryValue === undefined) return `${a.name}=${a.value}`;
    if (a.entryValue === a.value) return `${a.name}=${a.name}@entry=${a.value}`;
    return `${a.name}=${a.value}, ${a.name}@entry=${a.entryValue}`;
  };
  return `(${(args ?? []).map(one).join(', ')})`;
}

/** gdb's rule for the frame at the stop: its pc is shown unless it starts a line (a function's entry, where a step ended). */
function showsStoppedPc(f: Frame): boolean {
  return f.atLineStart !== undefined ? !f.atLineStart : (f.offset ?? 0n) !== 0n;
}

export function frameLine(f: Frame, index: number, opts: { full?: boolean; callee?: Frame } = {}): string {
  const args = formatFrameArgs(f.args);
  // gdb shows the pc where it is not the start of the frame's line: frame 0 away from a function's
  // entry, and in a caller the first frame at the call site (the innermost of an inline group);
  // the frames it was inlined into stand at their call lines, without it.
  const firstAtCallSite = index > 0 && (opts.callee === undefined ? !f.inlined : !opts.callee.inlined);
  const address = index === 0 ? (showsStoppedPc(f) ? `${hex(f.pc)} in ` : '') : firstAtCallSite ? `${hex(f.pc)} in ` : '';
  const at = f.file ? ` at ${f.file}:${f.line ?? '?'}` : '';
  const lines = [`#${index}  ${address}${f.function ?? '??'}${f.module ? ` [${f.module}]` : ''} ${args}${at}`];
  if (opts.full) {
    if (!f.locals?.length) lines.push('No locals.');
    for (const l of f.locals ?? []) lines.push(`        ${l.name} = ${l.value}`);
  }
  return lines.join('\n');
}

/** What gdb prints when the kernel stops: the reason, then the frame and its source line. */
export async function printStop(event: SessionEvent, ctx: ReplContext): Promise<void> {
  ctx.frame = 0;
  if (event.kind === 'exit') {
    if (vmGone(ctx)) return; // killed or crashed: not a power-off
    ctx.print(`[the guest powered off${event.guestStatus !== undefined ? `; guest command exit status ${event.guestStatus}` : ''}]`);
    return;
  }
  if (event.kind === 'watchpoint') {
    const w = event.watchpoints[0];
    ctx.print(`\nHardware watchpoint ${w?.id ?? '?'}: ${w?.location ?? hex(event.address)}\n\nOld value = ${event.oldValue ?? '<unknown>'}\nNew value = ${event.newValue ?? '<unknown>'}`);
  }
  const bt = await ctx.session.backtrace(event.threadId, 2).catch((err: Error) => {
    ctx.print(`(no backtrace at this stop: ${err.message})`);
    return undefined;
  });
  const top = bt?.frames[0];
  const where = top ? `${top.function ?? '??'} ${formatFrameArgs(top.args)}${top.file ? ` at ${top.file}:${top.line}` : ''}` : hex(event.pc);
  if (event.kind === 'breakpoint') {
    if (event.conditionError) ctx.print(event.conditionError);
    ctx.print(`\n${event.breakpoints[0]!.temporary ? 'Temporary breakpoint' : 'Breakpoint'} ${event.breakpoints.map((b) => b.id).join(', ')}, ${where}`);
  } else if (event.kind === 'stop' && event.reason === 'interrupt') {
    ctx.print(`\nThread ${event.threadId} received signal SIGINT, Interrupt.\n${hex(event.pc)} in ${where}`);
  } else if (event.kind === 'stop' && event.reason !== 'trap') {
    ctx.print(`\nStopped (${event.reason}${event.signal !== undefined ? `, signal ${event.signal}` : ''}) at ${hex(event.pc)} in ${where}`);
  } else {
    ctx.print(top && showsStoppedPc(top) ? `${hex(event.pc)} in ${where}` : where);
  }
  if (top?.file && top.line) {
    const text = ctx.source?.line(top.file, top.line);
    ctx.print(text !== undefined ? `${top.line}\t${text}` : `${top.line}\tin ${top.file}`);
    ctx.listed = { file: top.file, line: top.line };
  }
}

/**
 * Prints a stop and runs the commands of the breakpoints it hit (`silent` first: no banner).
 * True when they say `continue`: the caller resumes again, in a loop, so that thousands of
 * hits do not nest; gdb ignores what follows a `continue` too.
 */
export async function reportStop(event: SessionEvent, ctx: ReplContext): Promise<boolean> {
  const lines = event.kind === 'breakpoint' ? event.breakpoints.flatMap((b) => b.commands ?? []) : [];
  if (lines[0] === 'silent') ctx.frame = 0;
  else await printStop(event, ctx);
  for (const line of lines) {
    if (line === 'silent') continue;
    if (/^(c|cont|continue|fg)$/.test(line)) return true;
    await ctx.runLine?.(line);
    if (ctx.quitting) return false;
  }
  return false;
}
