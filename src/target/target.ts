/**
 * One interface for every kernel debug stub (QEMU gdbstub, kgdb, VMware, later KDP).
 * Front ends and session/ depend on this, never on a backend.
 */

export type StopReason =
  | 'breakpoint'   // SIGTRAP with a breakpoint of ours at pc (decided by session/, backends report 'trap')
  | 'trap'         // SIGTRAP: breakpoint, step or watchpoint; session/ refines it
  | 'watchpoint'
  | 'interrupt'    // SIGINT: we (or a new connection) paused the target
  | 'signal'       // any other signal
  | 'exited'       // W packet: target process/VM is gone (kgdb W03 on power-off)
  | 'terminated';  // X packet

export interface StopEvent {
  reason: StopReason;
  signal?: number;
  /** Stub thread id as the stub spells it (QEMU: vCPU "01"; kgdb: pid or shadow CPU). */
  threadId?: string;
  exitCode?: number;
  watch?: { kind: 'watch' | 'rwatch' | 'awatch'; address: bigint };
  /** The raw stop-reply payload, for logs. */
  raw: string;
}

export interface RegisterDescription {
  name: string;
  /** The stub's register number (for `p`/`P`). */
  regnum: number;
  bitSize: number;
  /** Byte offset in the `g` reply. */
  offset: number;
  type?: string;
  group?: string;
}

/** Register values by name; registers up to 64 bits as bigint, wider ones as raw little-endian bytes. */
export interface RegisterValues {
  get(name: string): bigint | undefined;
  raw(name: string): Buffer | undefined;
  names(): string[];
}

export interface ThreadInfo {
  id: string;
  /** What the stub says of it (qThreadExtraInfo): "CPU#0 [halted ]", a task comm... */
  description?: string;
}

export type BreakpointKind = 'software' | 'hardware';
export type WatchKind = 'write' | 'read' | 'access';

/**
 * Memory kdive can read without the stub (the RAM of a VM it started, shared with QEMU): faster than
 * `m` packets, and readable while the kernel runs. undefined: not here, ask the stub.
 */
export interface DirectMemory {
  /** The bytes (in `into` when given), or undefined when some of them are not RAM here. */
  read(address: bigint, length: number, running: boolean, into?: Buffer): Promise<Buffer | undefined>;
  /** The target stopped: what was cached of its page tables may be stale. */
  invalidate(): void;
  /** The target is about to run: learn now what reads while it runs need (they cannot ask the stub). */
  beforeRun?(): Promise<void>;
}

export interface Target {
  /** Name of the stub profile in use ("qemu", "kgdb", "generic"). */
  readonly stubName: string;
  /** Each thread is a CPU, thread n+1 being CPU n (QEMU's vCPUs); otherwise threads are tasks (kgdb, KDP). */
  readonly threadsAreCpus?: boolean;
  /** The stub can run backwards (reverse-continue, reverse-step). */
  readonly reverseExecution?: boolean;
  readonly registerLayout: readonly RegisterDescription[];

  readRegisters(threadId?: string): Promise<RegisterValues>;

  writeRegister(name: string, value: bigint, threadId?: string): Promise<void>;
  /**
   * Sets the stopped thread's pc back onto a breakpoint it trapped after (kgdb's int3). A stub
   * whose `c`/`s` take an address is told with the next resume rather than with a `P` now.
   */
  rewindPc?(pc: bigint, threadId?: string): Promise<void>;

  /** Where memory reads go first, when set (the shared RAM of a VM kdive booted). */
  directMemory?: DirectMemory;

  /**
   * Reads `length` bytes; throws TargetError (with the address) if any part is unreadable. With
   * `into`, the bytes land in it (its first `length` bytes) and it is what is returned.
   */
  readMemory(address: bigint, length: number, into?: Buffer): Promise<Buffer>;
  writeMemory(address: bigint, data: Buffer): Promise<void>;

  insertBreakpoint(address: bigint, kind: BreakpointKind): Promise<void>;
  removeBreakpoint(address: bigint, kind: BreakpointKind): Promise<void>;
  insertWatchpoint(address: bigint, length: number, kind: WatchKind): Promise<void>;
  removeWatchpoint(address: bigint, length: number, kind: WatchKind): Promise<void>;

  /**
   * Resumes all CPUs; returns once the stub accepted it. The next stop arrives via waitForStop().
   * With `pc`, the CPU that last stopped resumes there (RSP `c ADDR`: no separate register write).
   */
  resume(options?: { pc?: bigint }): Promise<void>;
  /**
   * Resumes a CPU that stopped on one of our breakpoints: takes the breakpoint out, steps that CPU
   * past it, puts it back, resumes all. Returns the step's stop when the step did not simply
   * complete (an exit, a fault), else undefined once the target is running again.
   */
  resumeOverBreakpoint(address: bigint, kind: BreakpointKind, threadId?: string): Promise<StopEvent | undefined>;
  /** Single-steps one thread (the current one by default) and resolves with the stop it causes. */
  step(threadId?: string): Promise<StopEvent>;
  /** Asks a running target to stop; resolves with the stop event. */
  interrupt(): Promise<StopEvent>;
  /** Asks a running target to stop without waiting: the stop reaches whoever waits in waitForStop(). */
  requestStop(): Promise<void>;
  /** Drops what is cached of the stopped target (registers): its state changed behind the stub's back (loadvm). */
  forgetState?(): void;
  /** How far past a software breakpoint the stub reports pc (kgdb: 1, the int3 it executed). */
  readonly breakpointPcOffset?: number;
  /** Registers writeRegister cannot change on this stub (it would be acknowledged and ignored). */
  readonly readOnlyRegisters?: readonly string[];
  /** The stub single-steps off a breakpoint at pc without it being removed first (QEMU under TCG). */
  readonly stepsOverBreakpointsInPlace?: boolean;
  /** Resolves with the next stop event (queued ones first). Rejects if the connection closes. */
  waitForStop(signal?: AbortSignal): Promise<StopEvent>;
  readonly running: boolean;

  threads(): Promise<ThreadInfo[]>;
  selectThread(threadId: string): Promise<void>;

  /** Passes a monitor command through (QEMU HMP via qRcmd); returns its output. */
  monitor(command: string): Promise<string>;

  /**
   * Removes every breakpoint and watchpoint we inserted, then detaches. Resolves only once the
   * stub confirmed it (the target resumes), with the points that could not be taken out; throws
   * (a TargetError) when the stub refused or did not answer.
   */
  detach(): Promise<DetachResult>;
  /** Closes the connection without detaching (after the target is gone). */
  close(): void;
}

export interface DetachResult {
  /** Breakpoints and watchpoints the stub would not remove, described for the user (empty when all went). */
  leftInserted: string[];
}

/** A stub answered with an error, did not answer, or hung up. */
export { TargetError } from './target-error.js';
