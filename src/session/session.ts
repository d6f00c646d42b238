import type { Arch } from '../arch/arch.js';
import { X86_64 } from '../arch/x86_64/x86-64-arch.js';
import { KdiveError } from '../errors.js';
import type { EvaluatedValue } from '../expr/evaluated-value.js';
import type { ExpressionEngine, ExpressionScope } from '../expr/expression-engine.js';
import type { PrintFormat } from '../expr/value-printer.js';
import type { LinuxKernel } from '../os/linux/linux-kernel.js';
import type { BreakpointKind, DetachResult, RegisterValues, Target, WatchKind } from '../target/target.js';
import type { QemuInstance } from '../vm/index.js';
import type { QmpClient } from '../vm/qmp-client.js';
import { listSnapshots, loadSnapshot, saveSnapshot } from '../vm/live-snapshots.js';
import { BreakpointService, type BreakpointOptions } from './breakpoint-service.js';
import { dumpMemory } from './memory-dump.js';
import type { Breakpoint, BreakpointLocation, BreakpointTable } from './breakpoints.js';
import { EvaluationService, type FrameSelection } from './evaluation-service.js';
import { ExecutionService, type SessionEvent } from './execution-service.js';
import type { Backtrace, Frame } from './frames.js';
import type { KernelSymbols } from './kernel-symbols.js';
import type { AttachOptions, BootOptions } from './open-session.js';
import { Program } from './program.js';
import { StackService, type FrameState } from './stack-service.js';
import { cpuOfThread } from './thread-cpu.js';

export type { BootOptions, AttachOptions, SessionSpec } from './open-session.js';
export { openSession } from './open-session.js';
export type { SessionEvent } from './execution-service.js';
export { isModuleLocation, type BreakpointOptions } from './breakpoint-service.js';

/** One vCPU (QEMU) or task (kgdb) as the stub lists it. */
export interface SessionThread {
  id: string;
  /** The Linux CPU number for vCPU threads. */
  cpu?: number;
  description?: string;
}

/**
 * One debugged kernel, as front ends (CLI, REPL, DAP, the library) see it: a façade over the
 * Program (target, symbols, OS layer, per-stop state) and its services — breakpoints, execution,
 * stacks, evaluation. The debugging logic lives in those; this class only routes and owns the end.
 */
export class Session {
  private readonly program: Program;
  private readonly stack: StackService;
  private readonly evaluation: EvaluationService;
  private readonly breakpointService: BreakpointService;
  private readonly execution: ExecutionService;
  private closed = false;
  private detached = false;

  private constructor(
    readonly target: Target,
    readonly symbols: KernelSymbols,
    readonly vm: QemuInstance | undefined,
    private readonly cleanup: () => void,
    consoleText: (() => string) | undefined,
    readonly arch: Arch = X86_64,
  ) {
    this.program = new Program(target, symbols, vm, consoleText, arch);
    this.stack = new StackService(this.program, arch);
    this.evaluation = new EvaluationService(this.program, this.stack, arch);
    this.breakpointService = new BreakpointService(this.program, this.evaluation, arch);
    this.execution = new ExecutionService(this.program, this.stack, this.evaluation, this.breakpointService, arch);
  }

  /**
   * A session over a target someone else connected (kgdb set-ups, tests, the proxy).
   * `close()` ends `vm` too when one is given, and runs `cleanup` last.
   */
  static fromTarget(target: Target, symbols: KernelSymbols, opts: { vm?: QemuInstance; cleanup?: () => void; consoleText?: () => string } = {}): Session {
    return new Session(target, symbols, opts.vm, opts.cleanup ?? (() => {}), opts.consoleText);
  }

  /** Attaches to a stub that is already listening (openSession with `attach`). */
  static async attach(opts: AttachOptions): Promise<Session> {
    const { attachSession } = await import('./open-session.js');
    return attachSession(opts);
  }

  /** Boots the kernel halted under QEMU with its gdbstub on loopback and attaches to it (openSession). */
  static async boot(opts: BootOptions): Promise<Session> {
    const { openSession } = await import('./open-session.js');
    return openSession(opts);
  }

  get breakpoints(): BreakpointTable {
    return this.program.breakpoints;
  }

  /** The thread (vCPU under QEMU, task under kgdb) that commands act on: the one that last stopped. */
  get selectedThread(): string | undefined {
    return this.program.selectedThread;
  }

  set selectedThread(threadId: string | undefined) {
    this.program.selectedThread = threadId;
  }

  // Breakpoints (BreakpointService).
  addBreakpoint(location: string, options: BreakpointKind | BreakpointOptions = {}): Promise<Breakpoint> {
    return this.breakpointService.addBreakpoint(location, options);
  }
  resolveBreakLocation(location: string): Promise<bigint> {
    return this.breakpointService.resolveBreakLocation(location);
  }
  resolveBreakLocations(location: string): Promise<Omit<BreakpointLocation, 'enabled'>[]> {
    return this.breakpointService.resolveBreakLocations(location);
  }
  lineInCurrentFile(line: number, threadId?: string): Promise<string> {
    return this.breakpointService.lineInCurrentFile(line, threadId);
  }
  deleteBreakpoint(id: number): Promise<void> {
    return this.breakpointService.deleteBreakpoint(id);
  }
  setBreakpointEnabled(id: number, enabled: boolean): Promise<void> {
    return this.breakpointService.setBreakpointEnabled(id, enabled);
  }
  setBreakpointLocationEnabled(id: number, location: number, enabled: boolean): Promise<void> {
    return this.breakpointService.setBreakpointLocationEnabled(id, location, enabled);
  }
  addWatchpoint(expression: string, kind: WatchKind = 'write'): Promise<Breakpoint> {
    return this.breakpointService.addWatchpoint(expression, kind);
  }

  // Moving the kernel (ExecutionService).
  resume(signal?: AbortSignal): Promise<SessionEvent> {
    return this.execution.resume(signal);
  }
  interrupt(): Promise<SessionEvent> {
    return this.execution.interrupt();
  }
  get isRunning(): boolean {
    return this.execution.isRunning;
  }
  stepInstruction(opts: { over?: boolean; threadId?: string } = {}): Promise<SessionEvent> {
    return this.execution.stepInstruction(opts);
  }
  stepLine(opts: { over?: boolean; threadId?: string } = {}): Promise<SessionEvent> {
    return this.execution.stepLine(opts);
  }
  finish(opts: FrameSelection = {}): Promise<{ event: SessionEvent; returnValue?: EvaluatedValue; frame?: Frame }> {
    return this.execution.finish(opts);
  }
  runUntil(location: string, opts: { threadId?: string } = {}): Promise<SessionEvent> {
    return this.execution.runUntil(location, opts);
  }
  /** Resumes from a breakpoint that applied the instruction under it rather than single-stepping it. */
  get emulatedBreakpointSteps(): number {
    return this.program.run.emulatedCount;
  }

  // Stacks and values (StackService, EvaluationService). While the kernel runs (a resume in
  // progress), what needs a stopped CPU is refused at once, and expressions read memory only: a
  // request sent to an all-stop stub between kdive's own packets of the resume would go unanswered.
  registers(threadId?: string): Promise<RegisterValues> {
    return this.stopped('reading registers', () => this.program.registers(threadId));
  }
  argumentRegisters(threadId?: string): Promise<{ name: string; value: bigint }[]> {
    return this.stopped('reading registers', () => this.evaluation.argumentRegisters(threadId));
  }
  backtrace(threadId?: string, maxFrames = 64): Promise<Backtrace> {
    return this.stopped('a backtrace', () => this.stack.backtrace(threadId, maxFrames));
  }
  frameState(threadId?: string, frameIndex = 0): Promise<FrameState> {
    return this.stopped('a frame', () => this.stack.frameState(threadId, frameIndex));
  }
  lineAt(pc: bigint): Promise<{ file: string; shortFile: string; line: number; start: bigint; end: bigint } | undefined> {
    return this.program.lineAt(pc);
  }
  evaluate(expression: string, opts: FrameSelection & { format?: PrintFormat } = {}): Promise<EvaluatedValue> {
    return this.evaluation.evaluate(expression, { ...opts, running: this.isRunning });
  }
  print(expression: string, opts: FrameSelection & { format?: PrintFormat } = {}): Promise<{ number: number; text: string; value: EvaluatedValue }> {
    return this.evaluation.print(expression, { ...opts, running: this.isRunning });
  }
  describeType(expression: string, opts: FrameSelection & { expand?: boolean } = {}): Promise<string> {
    return this.evaluation.describeType(expression, { ...opts, running: this.isRunning });
  }
  expressionScope(opts: FrameSelection = {}): Promise<{ engine: ExpressionEngine; scope: ExpressionScope }> {
    return this.evaluation.expressionScope({ ...opts, running: this.isRunning });
  }
  perCpuOffset(cpu: number): Promise<bigint> {
    return this.evaluation.perCpuOffset(cpu);
  }
  currentTask(threadId?: string): Promise<bigint> {
    return this.stopped('current', () => this.evaluation.currentTask(threadId));
  }

  private stopped<T>(what: string, read: () => Promise<T>): Promise<T> {
    if (this.isRunning) return Promise.reject(new KdiveError(`the kernel is running: ${what} needs a stopped CPU (interrupt it first)`));
    return read();
  }
  readMemory(address: bigint, length: number): Promise<Buffer> {
    return this.program.readMemory(address, length);
  }
  /** gdb's `dump binary memory FILE START END`; the number of bytes written. */
  dumpMemory(file: string, start: bigint, end: bigint): Promise<number> {
    return dumpMemory((a, n, into) => this.target.readMemory(a, n, into), start, end, file);
  }
  /** Linux awareness (tasks, dmesg, modules, uname, page tables) over this session's kernel. */
  get linux(): LinuxKernel {
    return this.program.linux;
  }

  /** vCPUs (QEMU) or tasks (kgdb). */
  async threads(): Promise<SessionThread[]> {
    return (await this.target.threads()).map((t) => ({ id: t.id, cpu: this.target.threadsAreCpus ? cpuOfThread(t.id) : undefined, description: t.description }));
  }

  /** A live snapshot of the VM (RAM, CPUs, devices) in its qcow2 disk (BootOptions.snapshots). */
  async saveSnapshot(name: string): Promise<void> {
    await saveSnapshot(this.requireVm('snapshots'), name);
  }

  /** Back to a snapshot: the kernel stays stopped, where the snapshot was taken. */
  async loadSnapshot(name: string): Promise<void> {
    await loadSnapshot(this.requireVm('snapshots'), name);
    this.program.run.forgetStop();
    this.target.forgetState?.();
  }

  listSnapshots(): Promise<string[]> {
    return listSnapshots(this.requireVm('snapshots'));
  }

  private requireVm(what: string): QmpClient {
    if (!this.vm || this.vm.hasExited) throw new KdiveError(`${what} need the VM kdive booted`);
    return this.vm.qmp;
  }

  /**
   * gdb's detach: every breakpoint and watchpoint out of the guest and the kernel running on
   * without us. Resolves only once the stub confirmed it (with what it would not remove); throws
   * when it refused, and the session is then still attached.
   */
  async detach(): Promise<DetachResult> {
    const result = await this.target.detach();
    this.detached = true;
    return result;
  }

  /** Ends everything: our breakpoints out of the guest, the connection, QEMU and its run folder. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let problem: string | undefined;
    try {
      if (!this.execution.exited && !this.detached) {
        // Our breakpoints leave the guest: an attached kernel runs on without them, and a booted
        // one is killed right after (removing them first still matters for a shared stub).
        const timeout = new Promise<string>((r) => setTimeout(() => r('the stub did not answer within 2 s'), 2000).unref());
        const outcome = await Promise.race([
          this.target.detach().then((r) => (r.leftInserted.length ? `the stub kept ${r.leftInserted.join(', ')}` : undefined), (err: Error) => err.message),
          timeout,
        ]);
        problem = outcome;
      }
    } finally {
      this.target.close();
      await this.vm?.kill();
      await this.symbols.close();
      this.cleanup();
    }
    // A booted VM is gone now, whatever it held; a kernel we attached to runs on, so say what may be left in it.
    if (problem && !this.vm) throw new KdiveError(`detaching from the kernel failed (${problem}): kdive's breakpoints may still be in it`);
  }
}
