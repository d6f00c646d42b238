import type { Arch } from '../arch/arch.js';
import { KdiveError } from '../errors.js';
import type { EvaluatedValue } from '../expr/evaluated-value.js';
import { typeToString } from '../expr/c-types.js';
import { parseGuestExit } from '../rootfs/index.js';
import { returnTypeAt } from '../symbols/dwarf/function-signature.js';
import type { StopEvent } from '../target/target.js';
import { ConnectionClosedError } from '../target/target-error.js';
import type { BreakpointService } from './breakpoint-service.js';
import type { Breakpoint } from './breakpoints.js';
import type { EvaluationService } from './evaluation-service.js';
import type { Frame } from './frames.js';
import type { Program } from './program.js';
import type { RawStop } from './run-control.js';
import type { StackService } from './stack-service.js';
import { cpuOfThread } from './thread-cpu.js';

/** What a resume or step ended with. */
export type SessionEvent =
  | { kind: 'breakpoint'; breakpoints: Breakpoint[]; threadId: string; cpu: number; pc: bigint; conditionError?: string }
  | { kind: 'watchpoint'; watchpoints: Breakpoint[]; address: bigint; threadId: string; cpu: number; pc: bigint; oldValue?: string; newValue?: string }
  | { kind: 'stop'; reason: StopEvent['reason']; signal?: number; threadId: string; cpu: number; pc: bigint }
  | { kind: 'exit'; guestStatus?: number; qemuExitCode: number | null };

/** Steps a line step takes at most before it gives up and reports where it is. */
const MAX_LINE_STEPS = 100_000;

/**
 * Moving the kernel as a user does: continue (conditions, ignore counts, temporary breakpoints,
 * pending module breakpoints at module load), stepi/nexti, step/next by source line, finish with
 * the returned value, until/advance, Ctrl-C; one move at a time, and the guest's end.
 */
export class ExecutionService {
  /** Set once the guest has gone: every later move reports the same end. */
  exited: SessionEvent | undefined;
  /** The resume or step in progress: interrupt() waits for it to report the stop. */
  private activity: Promise<SessionEvent> | undefined;
  private stopRequested = false;

  constructor(
    private readonly program: Program,
    private readonly stack: StackService,
    private readonly evaluation: EvaluationService,
    private readonly breakpointService: BreakpointService,
    private readonly arch: Arch,
  ) {}

  /**
   * Resumes every CPU and waits for the next stop that counts: a breakpoint whose condition holds
   * and whose ignore count is used up, a watchpoint, a signal, an interrupt, or the guest powering off.
   */
  resume(signal?: AbortSignal): Promise<SessionEvent> {
    return this.exclusive(async () => {
      for (;;) {
        const event = await this.settle(await this.program.run.continueOnce(signal));
        if (event) return event;
        if (this.stopRequested) return this.stoppedHere('interrupt');
      }
    });
  }

  /** Asks the running kernel to stop (Ctrl-C) and reports the stop of the resume or step in progress. */
  async interrupt(): Promise<SessionEvent> {
    if (this.exited) return this.exited;
    const running = this.activity;
    if (!running) throw new KdiveError('the kernel is not running');
    this.stopRequested = true;
    if (this.program.target.running) await this.program.target.requestStop();
    return running;
  }

  /** Whether a resume or step is in progress. */
  get isRunning(): boolean {
    return this.activity !== undefined;
  }

  /** gdb's stepi / nexti: one instruction; `over` runs a call to its return. */
  stepInstruction(opts: { over?: boolean; threadId?: string } = {}): Promise<SessionEvent> {
    return this.exclusive(async () => {
      const tid = this.program.threadFor(opts.threadId);
      if (opts.over) {
        const call = await this.callAt(tid);
        if (call) return this.runTo([call.returnAddress], call.sp, tid);
      }
      return this.settleStep(await this.program.run.step(tid));
    });
  }

  /**
   * gdb's step / next: single-steps until the pc reaches the start of another source line.
   * `next` runs calls to their return; `step` stops at the first line of a called function with
   * line information and runs through those without (assembly thunks).
   */
  stepLine(opts: { over?: boolean; threadId?: string } = {}): Promise<SessionEvent> {
    return this.exclusive(async () => {
      const tid = this.program.threadFor(opts.threadId);
      let pc = (await this.program.registers(tid)).get(this.arch.pc) ?? 0n;
      const start = await this.program.lineAt(pc);
      // No line information here: like gdb, run until the function returns.
      if (!start) return (await this.finishFrame(0, tid)).event;
      let event: SessionEvent = this.stoppedAt('trap', tid, pc);
      for (let n = 0; n < MAX_LINE_STEPS; n++) {
        if (this.stopRequested) return this.stoppedHere('interrupt');
        const call = await this.callAt(tid, pc);
        event = call && opts.over ? await this.runTo([call.returnAddress], call.sp, tid) : await this.settleStep(await this.program.run.step(tid));
        if (event.kind !== 'stop' || event.reason !== 'trap') return event;
        pc = event.pc;
        const here = await this.program.lineAt(pc);
        if (call && !opts.over) {
          if (here) return event; // stepped into a function we have lines for: its first line
          event = await this.runTo([call.returnAddress], call.sp, tid);
          if (event.kind !== 'stop' || event.reason !== 'trap') return event;
          pc = event.pc;
          continue;
        }
        if (here && here.line !== 0 && here.start === pc && (here.line !== start.line || here.file !== start.file || pc <= start.start)) return event;
      }
      return event;
    });
  }

  /** gdb's finish: runs until the selected frame returns; the return value when its type is known. */
  async finish(opts: { frame?: number; threadId?: string } = {}): Promise<{ event: SessionEvent; returnValue?: EvaluatedValue; frame?: Frame }> {
    let result: { event: SessionEvent; returnValue?: EvaluatedValue; frame?: Frame } | undefined;
    const event = await this.exclusive(async () => {
      result = await this.finishFrame(opts.frame ?? 0, this.program.threadFor(opts.threadId));
      return result.event;
    });
    return { ...result, event };
  }

  /** gdb's until LOCATION / advance LOCATION: runs until that location, or until the current frame returns. */
  runUntil(location: string, opts: { threadId?: string } = {}): Promise<SessionEvent> {
    return this.exclusive(async () => {
      const tid = this.program.threadFor(opts.threadId);
      // Every location gdb's until puts a momentary breakpoint at (a line inlined twice has two), and the caller's return.
      const targets = (await this.breakpointService.resolveBreakLocations(location)).map((l) => l.address);
      // Without a stack to read, until still runs to the location; it just cannot stop at the frame's return.
      const bt = await this.stack.backtrace(tid, 8).catch(() => undefined);
      const caller = bt?.frames.find((f, i) => i > 0 && !bt.frames[i - 1]!.inlined && f.kind === 'call');
      const frameSp = bt?.frames[0]?.sp;
      return this.runTo(caller ? [...targets, caller.pc] : targets, undefined, tid, frameSp, targets.length);
    });
  }

  private async finishFrame(frameIndex: number, tid: string): Promise<{ event: SessionEvent; returnValue?: EvaluatedValue; frame?: Frame }> {
    const bt = await this.stack.backtrace(tid, frameIndex + 16);
    let i = frameIndex;
    while (bt.frames[i]?.inlined) i++;
    const frame = bt.frames[i];
    const caller = bt.frames[i + 1];
    if (!frame || !caller) throw new KdiveError('"finish" not meaningful in the outermost frame');
    if (caller.kind !== 'call') throw new KdiveError(`cannot finish ${frame.function ?? 'this frame'}: it was entered by an interrupt or a system call, not called`);
    const event = await this.runTo([caller.pc], frame.sp, tid);
    if (event.kind !== 'stop' || event.pc !== caller.pc) return { event, frame };
    const lookup = (i === 0 ? frame.pc : frame.pc - 1n) - this.program.symbols.slide;
    // A function whose DWARF does not give its return type: finish then shows no value, as gdb for void.
    const type = this.program.symbols.dwarf ? await returnTypeAt(this.program.symbols.dwarf, lookup).catch(() => undefined) : await this.btfReturnType(frame.function, frame.module);
    if (!type || type === 'void') return { event, frame };
    const returnValue = await this.evaluation.evaluate(`(${type})$${this.arch.returnRegister}`).catch(async () => {
      const rax = (await this.program.registers(tid)).get(this.arch.returnRegister) ?? 0n;
      return { text: String(rax), type, scalar: rax, hasChildren: false, children: async () => [] } satisfies EvaluatedValue;
    });
    return { event, returnValue, frame };
  }

  /** Without DWARF: the return type of the BTF prototype of a function, by its name. */
  private async btfReturnType(fn: string | undefined, module: string | undefined): Promise<string | undefined> {
    const types = module ? await this.program.moduleTypes(module) : this.program.symbols.types();
    // A prototype BTF cannot give (a damaged module BTF): no typed value, as gdb for a void function.
    const f = fn ? await types?.functionType(fn).catch(() => undefined) : undefined;
    return f?.kind === 'func' ? typeToString(f.returns) : undefined;
  }

  /**
   * Resumes until one of `addresses` is reached by thread `tid` (with its stack pointer above
   * `spAbove`, so a recursive call does not count), or until something else stops the kernel.
   * The first `targetCount` addresses are where until/advance go (reached in this frame or a
   * deeper one); the rest are returns from it.
   */
  private async runTo(addresses: bigint[], spAbove: bigint | undefined, tid: string, frameSp?: bigint, targetCount = 1): Promise<SessionEvent> {
    const added: bigint[] = [];
    try {
      for (const a of addresses) {
        await this.program.run.addInternal(a);
        added.push(a);
      }
      for (;;) {
        if (this.stopRequested) return this.stoppedHere('interrupt');
        const raw = await this.program.run.continueOnce();
        if (raw.kind === 'breakpoint' && raw.internal && addresses.includes(raw.pc) && raw.threadId === tid) {
          const sp = (await this.program.registers(tid)).get(this.arch.sp) ?? 0n;
          const limit = addresses.slice(0, targetCount).includes(raw.pc) && frameSp !== undefined ? undefined : spAbove ?? frameSp;
          if (limit === undefined || sp > limit) {
            // A user breakpoint at the same place still counts as its hit.
            const users = await this.settle({ ...raw, internal: false });
            return users ?? this.stoppedAt('trap', tid, raw.pc);
          }
          continue;
        }
        const event = await this.settle(raw);
        if (event) return event;
      }
    } finally {
      for (const a of added) await this.program.run.removeInternal(a);
    }
  }

  /** Applies conditions, ignore counts and temporary deletion to a raw stop; undefined = keep going. */
  private async settle(raw: RawStop): Promise<SessionEvent | undefined> {
    if (raw.kind === 'gone') return this.finishExit();
    if (raw.kind === 'stop') return raw;
    if (raw.kind === 'breakpoint' && raw.internal && raw.pc === this.breakpointService.moduleLoadHook) await this.breakpointService.resolvePendingBreakpoints();
    if (raw.kind === 'watchpoint') {
      const event: SessionEvent = { ...raw };
      for (const w of raw.watchpoints) {
        w.hits++;
        if (w.watch && w.watch.kind !== 'read') {
          // A watched value that cannot be read now prints as <unknown> in the report.
          const now = await this.evaluation.evaluate(w.watch.expression).then((v) => v.text).catch(() => undefined);
          event.oldValue = w.watch.lastValue;
          event.newValue = now;
          w.watch.lastValue = now;
        }
      }
      return event;
    }
    const stopping: Breakpoint[] = [];
    let conditionError: string | undefined;
    for (const bp of raw.breakpoints) {
      if (bp.condition) {
        try {
          const v = await this.evaluation.evaluate(bp.condition, { threadId: raw.threadId });
          if (v.scalar === 0n || (v.scalar === undefined && v.text === '0')) continue;
        } catch (err) {
          // gdb stops when a condition cannot be evaluated, and says why.
          conditionError = `Error in testing condition for breakpoint ${bp.id}: ${err instanceof Error ? err.message : String(err)}`;
        }
      }
      bp.hits++;
      if (bp.ignoreCount > 0) {
        bp.ignoreCount--;
        continue;
      }
      stopping.push(bp);
    }
    if (stopping.length === 0) return undefined;
    for (const bp of stopping.filter((b) => b.temporary)) await this.breakpointService.deleteBreakpoint(bp.id);
    return { kind: 'breakpoint', breakpoints: stopping, threadId: raw.threadId, cpu: raw.cpu, pc: raw.pc, ...(conditionError ? { conditionError } : {}) };
  }

  /** A step's stop: steps land on breakpoints without hitting them. */
  private async settleStep(raw: RawStop): Promise<SessionEvent> {
    if (raw.kind === 'breakpoint') return this.stoppedAt('trap', raw.threadId, raw.pc);
    return (await this.settle(raw)) ?? this.stoppedHere('trap');
  }

  private stoppedAt(reason: StopEvent['reason'], threadId: string, pc: bigint): SessionEvent {
    return { kind: 'stop', reason, threadId, cpu: this.program.target.threadsAreCpus ? cpuOfThread(threadId) : 0, pc };
  }

  private stoppedHere(reason: StopEvent['reason']): SessionEvent {
    const last = this.program.run.lastStop;
    return this.stoppedAt(reason, last?.threadId ?? this.program.selectedThread ?? '01', last?.pc ?? 0n);
  }

  /** Runs one resume or step at a time; the stop it ends with selects its thread. */
  private async exclusive(op: () => Promise<SessionEvent>): Promise<SessionEvent> {
    if (this.exited) return this.exited;
    if (this.activity) throw new KdiveError('the kernel is running: interrupt it first');
    this.stopRequested = false;
    const p = (async () => {
      try {
        return await op();
      } catch (err) {
        if (err instanceof ConnectionClosedError && this.program.vm) return this.finishExit();
        throw err;
      }
    })();
    this.activity = p;
    this.program.moving = true;
    try {
      const event = await p;
      if (event.kind !== 'exit') this.program.selectedThread = event.threadId;
      return event;
    } finally {
      this.activity = undefined;
      this.program.moving = false;
      this.stopRequested = false;
    }
  }

  /** The call instruction at a thread's pc, with where it returns to and the stack pointer before it. */
  private async callAt(tid: string, pcHint?: bigint): Promise<{ returnAddress: bigint; sp: bigint } | undefined> {
    const regs = await this.program.registers(tid);
    const pc = pcHint ?? regs.get(this.arch.pc) ?? 0n;
    // Code that cannot be read is not a call we could step over.
    const code = await this.program.target.readMemory(pc, 16).catch(() => undefined);
    const call = code && this.arch.decodeCall(code, pc);
    return call ? { returnAddress: pc + BigInt(call.length), sp: regs.get(this.arch.sp) ?? 0n } : undefined;
  }

  /** The guest is gone (it powered off, or the stub hung up): its exit status from the console. */
  private async finishExit(): Promise<SessionEvent> {
    // An attached session has no QEMU of its own to wait for: the stub's exit is the end.
    const status = this.program.vm ? await this.program.vm.exited : { code: null };
    this.exited = { kind: 'exit', guestStatus: parseGuestExit(this.program.consoleText?.() ?? this.program.vm?.consoleText() ?? ''), qemuExitCode: status.code };
    return this.exited;
  }
}
