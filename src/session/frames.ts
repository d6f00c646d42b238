/** One frame of a backtrace, innermost first. */
export interface Frame {
  index: number;
  /** The frame's pc: the stop pc for frame 0, a return address for the others. */
  pc: bigint;
  sp: bigint;
  function?: string;
  /** pc minus the function's start. */
  offset?: bigint;
  /** The module whose code this is (from the kernel's own module kallsyms), for code outside vmlinux. */
  module?: string;
  /** How the unwinder reached this frame ('initial', 'call', 'regs' for an interrupt/syscall frame...). */
  kind: string;
  reliable: boolean;
  /** Source file (relative to the kernel's build directory, as gdb prints it) and line. */
  file?: string;
  line?: number;
  /** An inlined function: it shares its pc with the next frame, the function it was inlined into. */
  inlined: boolean;
  /** For the frames at the stopped pc: whether pc starts a line-table row (gdb then shows no address). */
  atLineStart?: boolean;
  /** Parameters and their values where the debug info locates them (`<optimized out>`, `<unavailable>` otherwise). */
  args?: { name: string; type: string; value: string }[];
  /** Local variables in scope, with values where the debug info locates them. */
  locals?: { name: string; type: string; value: string }[];
  /** The text of the source line, when a source tree is known (`--source`). */
  source?: string;
}

/** Why the unwind stopped below the last frame. */
export interface BacktraceEnd {
  reason: 'user' | 'end-of-stack' | 'error' | 'limit';
  detail?: string;
  /** The user-mode state at a syscall/interrupt boundary. */
  user?: { ip: bigint; sp: bigint; syscall?: bigint };
}

export interface Backtrace {
  frames: Frame[];
  end: BacktraceEnd;
}
