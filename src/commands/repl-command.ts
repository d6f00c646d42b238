import type { Session } from '../session/session.js';
import type { SourceTree } from '../session/source-tree.js';

/** What every REPL command gets: the session, where to print, and the user's selections. */
export interface ReplContext {
  session: Session;
  /** A line of output (the newline is added). */
  print(text: string): void;
  /** Output as it is, no newline added (printf, echo). */
  write(text: string): void;
  /** Runs one command line as typed at the prompt (breakpoint commands use it). */
  runLine?(line: string): Promise<void>;
  /** Set by `commands`: the lines that follow, up to `end`, become the breakpoint's commands. */
  collecting?: { breakpointId: number; lines: string[] };
  /** The selected frame (frame/up/down), reset at each stop. */
  frame: number;
  source?: SourceTree;
  /** Where `list` continues from. */
  listed?: { file: string; line: number };
  /** Set by quit: the loop ends after this command. */
  quitting?: boolean;
  /** Set once the user has been told how the VM ended (see vmGone). */
  vmGoneReported?: boolean;
  /** `continue &`: the run in the background, settled once its stop is printed. */
  background?: Promise<void>;
  /** Shows the prompt again after output that came while the user was at it (a background stop). */
  prompt?(): void;
}

/**
 * What may run while the kernel runs (`continue &`): commands that only read memory, which a VM
 * kdive booted lets it read from the RAM it shares with QEMU. Their output says it was read so.
 */
export const WHILE_RUNNING = new Set(['print', 'output', 'x', 'ps', 'dmesg', 'lsmod', 'whatis', 'ptype', 'help', 'echo', 'printf', 'interrupt', 'kill', 'quit', 'info']);
/** Of `info`, the topics that need no stopped CPU. */
export const INFO_WHILE_RUNNING = /^(b|br|break|breakpoints|watchpoints|sharedlibrary|snapshots)\b/;
/** Commands that print nothing of the kernel: no note that it was read while running. */
export const NOT_A_READ = new Set(['help', 'echo', 'interrupt', 'kill', 'quit', 'info', 'whatis', 'ptype']);

/**
 * When the session's QEMU has ended otherwise than by the guest powering off or by kdive (killed,
 * crashed), one line saying how; undefined while it runs or when its end was a normal one. The
 * line is printed the first time only (`report`), so whoever notices first says it.
 */
export function vmGone(ctx: ReplContext, report = true): string | undefined {
  const vm = ctx.session.vm;
  const gone = vm?.hasExited ? vm.unexpectedEnd() : undefined;
  if (gone && report && !ctx.vmGoneReported) {
    ctx.vmGoneReported = true;
    ctx.print(`${gone}; the VM is gone.`);
  }
  return gone;
}

/** One gdb-style command: its names (the first is the full one), help line and action. */
export interface ReplCommand {
  names: string[];
  help: string;
  /** `fmt` is what follows a slash (`p/x` -> 'x', `x/4gx` -> '4gx'). */
  run(args: string, ctx: ReplContext, fmt?: string): Promise<void>;
}

/** `p/x foo` -> { name: 'p', fmt: 'x', args: 'foo' }. */
export function splitCommandLine(line: string): { name: string; fmt?: string; args: string } {
  const m = /^\s*([A-Za-z_][\w-]*)(?:\/(\w+))?\s*(.*)$/.exec(line);
  if (!m) return { name: line.trim(), args: '' };
  return { name: m[1]!, fmt: m[2], args: m[3]!.trim() };
}

/** Finds a command by name or gdb's unique-prefix rule (`disas` for disassemble); aliases win. */
export function findCommand(commands: ReplCommand[], name: string): ReplCommand | undefined {
  const exact = commands.find((c) => c.names.includes(name));
  if (exact) return exact;
  const prefixed = commands.filter((c) => c.names[0]!.startsWith(name));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}
