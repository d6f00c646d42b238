import { hex } from '../output/hex.js';
import type { Frame } from '../../session/frames.js';
import type { SessionEvent } from '../../session/session.js';
import { vmGone, type ReplContext } from './repl-command.js';

/** A frame as gdb's backtrace prints it: `#1  0x... in __x64_sys_mkdir (regs=...) at fs/namei.c:4204`. */
export function frameLine(f: Frame, index: number, opts: { full?: boolean } = {}): string {
  const args = `(${(f.args ?? []).map((a) => `${a.name}=${a.value}`).join(', ')})`;
  const address = index === 0 && (f.offset ?? 0n) === 0n ? '' : f.inlined ? '' : `${hex(f.pc)} in `;
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
  const where = top ? `${top.function ?? '??'} (${(top.args ?? []).map((a) => `${a.name}=${a.value}`).join(', ')})${top.file ? ` at ${top.file}:${top.line}` : ''}` : hex(event.pc);
  if (event.kind === 'breakpoint') {
    if (event.conditionError) ctx.print(event.conditionError);
    ctx.print(`\n${event.breakpoints[0]!.temporary ? 'Temporary breakpoint' : 'Breakpoint'} ${event.breakpoints.map((b) => b.id).join(', ')}, ${where}`);
  } else if (event.kind === 'stop' && event.reason === 'interrupt') {
    ctx.print(`\nThread ${event.threadId} received signal SIGINT, Interrupt.\n${hex(event.pc)} in ${where}`);
  } else if (event.kind === 'stop' && event.reason !== 'trap') {
    ctx.print(`\nStopped (${event.reason}${event.signal !== undefined ? `, signal ${event.signal}` : ''}) at ${hex(event.pc)} in ${where}`);
  } else {
    ctx.print(top && (top.offset ?? 0n) !== 0n ? `${hex(event.pc)} in ${where}` : where);
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
