import type { Backtrace } from '../../session/frames.js';
import type { SessionEvent } from '../../session/session.js';
import { hex } from './hex.js';

export interface StopReport {
  event: Exclude<SessionEvent, { kind: 'exit' }>;
  args: { name: string; value: bigint }[];
  backtrace: Backtrace;
}

/** `--json`: one object per line; addresses as hex strings. Fields are only ever added. */
export function stopToJson(report: StopReport): Record<string, unknown> {
  const { event, args, backtrace } = report;
  return {
    event: 'stop',
    ...(event.kind === 'breakpoint'
      ? { breakpoint: event.breakpoints[0]!.location, breakpointIds: event.breakpoints.map((b) => b.id) }
      : event.kind === 'watchpoint'
        ? { watchpoint: event.watchpoints[0]?.location ?? null, address: hex(event.address), oldValue: event.oldValue ?? null, newValue: event.newValue ?? null }
        : { reason: event.reason }),
    pc: hex(event.pc),
    cpu: event.cpu,
    thread: event.threadId,
    registers: Object.fromEntries(args.map((a) => [a.name, hex(a.value)])),
    frames: backtrace.frames.map((f) => ({
      pc: hex(f.pc),
      function: f.function ?? null,
      offset: f.offset === undefined ? null : Number(f.offset),
      ...(f.module ? { module: f.module } : {}),
      sp: hex(f.sp),
      kind: f.kind,
      file: f.file ?? null,
      line: f.line ?? null,
      inlined: f.inlined,
      args: f.args ?? [],
      locals: f.locals ?? [],
      ...(f.source !== undefined ? { source: f.source } : {}),
    })),
    unwindEnd: {
      reason: backtrace.end.reason,
      ...(backtrace.end.detail ? { detail: backtrace.end.detail } : {}),
      ...(backtrace.end.user
        ? {
            user: {
              ip: hex(backtrace.end.user.ip),
              sp: hex(backtrace.end.user.sp),
              ...(backtrace.end.user.syscall !== undefined ? { syscall: Number(backtrace.end.user.syscall) } : {}),
            },
          }
        : {}),
    },
  };
}

/** The human form, close to what gdb prints at a breakpoint followed by `bt`. */
export function stopToText(report: StopReport): string {
  const { event, args, backtrace } = report;
  const lines: string[] = [];
  const top = backtrace.frames[0];
  const where = top?.function ? `${top.function}${top.offset ? `+${hex(top.offset)}` : ''}` : hex(event.pc);
  if (event.kind === 'breakpoint') {
    const ids = event.breakpoints.map((b) => b.id).join(', ');
    lines.push(`Breakpoint ${ids}, ${where} (${hex(event.pc)}) on CPU ${event.cpu}`);
  } else if (event.kind === 'watchpoint') {
    const w = event.watchpoints[0];
    lines.push(`${w ? `Hardware watchpoint ${w.id}: ${w.location}` : `Watchpoint at ${hex(event.address)}`} at ${where} (${hex(event.pc)}) on CPU ${event.cpu}`);
    if (event.oldValue !== undefined || event.newValue !== undefined) lines.push(`  Old value = ${event.oldValue ?? '<unknown>'}`, `  New value = ${event.newValue ?? '<unknown>'}`);
  } else {
    lines.push(`Stopped (${event.reason}) at ${where} (${hex(event.pc)}) on CPU ${event.cpu}`);
  }
  lines.push(`  args: ${args.map((a) => `${a.name}=${hex(a.value)}`).join(' ')}`);
  const width = String(backtrace.frames.length - 1).length;
  for (const f of backtrace.frames) {
    const args = f.args ? ` (${f.args.map((a) => `${a.name}=${a.value}`).join(', ')})` : '';
    const name = f.function ? `${f.function}${f.offset !== undefined && !f.inlined ? `+${hex(f.offset)}` : ''}${f.module ? ` [${f.module}]` : ''}${args}` : '??';
    const at = f.file ? ` at ${f.file}:${f.line ?? '?'}` : '';
    const note = f.inlined ? '  (inlined)' : f.kind === 'regs' || f.kind === 'regs-partial' ? '  [interrupt/syscall frame]' : f.reliable ? '' : '  [unreliable]';
    lines.push(`#${String(f.index).padEnd(width)}  ${hex(f.pc).padStart(18)} in ${name}${at}${note}`);
    if (f.source !== undefined && f.index === 0) lines.push(`    ${f.line}\t${f.source}`);
  }
  const end = backtrace.end;
  if (end.reason === 'user' && end.user) {
    const sc = end.user.syscall !== undefined ? `, syscall ${end.user.syscall}` : '';
    lines.push(`   (user space: rip=${hex(end.user.ip)} rsp=${hex(end.user.sp)}${sc})`);
  } else if (end.reason === 'error') {
    lines.push(`   (unwind stopped: ${end.detail ?? 'error'})`);
  }
  return lines.join('\n');
}
