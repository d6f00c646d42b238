import { ARGUMENT_REGISTERS } from '../arch/x86_64/calling-convention.js';
import { DWARF_REGISTER_NAMES } from '../arch/x86_64/dwarf-registers.js';
import { nopLength } from '../arch/x86_64/nop-instructions.js';
import { unwindRegistersWithCfi, type ExpressionContext } from '../symbols/dwarf/index.js';
import { KdiveError } from '../errors.js';
import type { KernelArtifacts } from '../kernels/index.js';
import { silentProgress, type ProgressReporter } from '../progress/progress.js';
import { buildInitramfs, parseGuestExit } from '../rootfs/index.js';
import { GdbRemoteTarget } from '../target/gdb-remote/index.js';
import type { BreakpointKind, RegisterValues, StopEvent, Target, WatchKind } from '../target/target.js';
import { ConnectionClosedError } from '../target/target-error.js';
import { connectTcp } from '../transport/index.js';
import { unwindOrc } from '../unwind/index.js';
import { launchQemu, type LaunchOptions, type QemuInstance } from '../vm/index.js';
import { BreakpointTable, type Breakpoint } from './breakpoints.js';
import type { Backtrace, Frame } from './frames.js';
import { KernelSymbols } from './kernel-symbols.js';
import { cpuOfThread } from './thread-cpu.js';
import path from 'node:path';
import { createRunDir } from '../vm/run-dir.js';
import type { EvaluatedValue } from '../expr/evaluated-value.js';

export interface BootOptions {
  kernel: KernelArtifacts;
  /** Shell command the guest's /init runs before powering off. */
  guestCommand: string;
  /** Extra kernel command-line words. */
  append?: string[];
  memoryMiB?: number;
  cpus?: number;
  progress?: ProgressReporter;
  /** Called with console text as the guest prints it. */
  onConsole?: (text: string) => void;
  /** Symbols already read (the session takes them over and closes them). */
  symbols?: KernelSymbols;
  /** Boot with KASLR on (default: off, `nokaslr`); the slide is found once the kernel runs. */
  kaslr?: boolean;
  /** More QEMU settings (disks, devices, extra arguments), merged into the launch. */
  launch?: Partial<LaunchOptions>;
}

/** One vCPU (QEMU) or task (kgdb) as the stub lists it. */
export interface SessionThread {
  id: string;
  /** The Linux CPU number for vCPU threads. */
  cpu?: number;
  description?: string;
}

export interface BreakpointOptions {
  kind?: BreakpointKind;
  /** gdb's tbreak: deleted at its first stop. */
  temporary?: boolean;
  /** Stop only when this C expression is non-zero at the hit. */
  condition?: string;
  /** Let this many hits pass without stopping. */
  ignoreCount?: number;
}

/** What a resume ended with. */
export type SessionEvent =
  | { kind: 'breakpoint'; breakpoints: Breakpoint[]; threadId: string; cpu: number; pc: bigint }
  | { kind: 'stop'; reason: StopEvent['reason']; signal?: number; threadId: string; cpu: number; pc: bigint }
  | { kind: 'exit'; guestStatus?: number; qemuExitCode: number | null };


/**
 * One debugged kernel: a target, its symbols and (when we booted it) its VM.
 * Front ends (CLI, REPL, DAP) drive this; it holds all of the debugging logic.
 */
export class Session {
  readonly breakpoints = new BreakpointTable();
  private lastStop: { threadId: string; pc: bigint } | undefined;
  private exited: SessionEvent | undefined;
  private closed = false;

  /** The thread (vCPU under QEMU, task under kgdb) that commands act on: the one that last stopped. */
  selectedThread: string | undefined;

  private constructor(
    readonly target: Target,
    readonly symbols: KernelSymbols,
    readonly vm: QemuInstance | undefined,
    private readonly cleanup: () => void = () => {},
  ) {}

  /**
   * A session over a target someone else connected (kgdb set-ups, tests, the proxy).
   * `close()` ends `vm` too when one is given, and runs `cleanup` last.
   */
  static fromTarget(target: Target, symbols: KernelSymbols, opts: { vm?: QemuInstance; cleanup?: () => void } = {}): Session {
    return new Session(target, symbols, opts.vm, opts.cleanup);
  }

  /** Boots the kernel halted under QEMU with its gdbstub on loopback and attaches to it. */
  static async boot(opts: BootOptions): Promise<Session> {
    const progress = opts.progress ?? silentProgress;
    if (!opts.kernel.vmlinux) {
      throw new KdiveError(`no symbols for ${opts.kernel.bzImage}: pass --vmlinux FILE`);
    }
    const symbols = opts.symbols ?? (await KernelSymbols.open(opts.kernel.vmlinux, progress));
    const work = createRunDir('kdive-session-');
    let vm: QemuInstance | undefined;
    try {
      const initrd = path.join(work.path, 'initramfs.cpio.gz');
      const task = progress.start('building initramfs');
      await buildInitramfs({ guestCommand: opts.guestCommand, out: initrd });
      task.finish();
      const launch = opts.launch ?? {};
      vm = await launchQemu({
        memoryMiB: opts.memoryMiB ?? 512,
        cpus: opts.cpus ?? 1,
        ...launch,
        kernel: opts.kernel.bzImage,
        initrd,
        append: ['console=ttyS0', ...(opts.kaslr ? [] : ['nokaslr']), 'panic=-1', 'oops=panic', ...(opts.append ?? []), ...(launch.append ? [launch.append] : [])].join(' '),
        halted: true,
      });
      if (opts.onConsole) vm.onConsole(opts.onConsole);
      const socket = await connectTcp(vm.gdb.host, vm.gdb.port, { timeoutMs: 10_000, retryUntilMs: 10_000 });
      const target = await GdbRemoteTarget.connect(socket, { profile: 'qemu' });
      return new Session(target, symbols, vm, work.remove);
    } catch (err) {
      await vm?.kill();
      await symbols.close();
      work.remove();
      throw err;
    }
  }

  /** A breakpoint at a function, FILE:LINE or `*ADDRESS`; unknown locations fail before anything changes. */
  async addBreakpoint(location: string, options: BreakpointKind | BreakpointOptions = {}): Promise<Breakpoint> {
    const opts = typeof options === 'string' ? { kind: options } : options;
    const kind = opts.kind ?? 'software';
    const address = await this.resolveBreakLocation(location);
    const bp = this.breakpoints.add(location, address, kind, opts.temporary ?? false);
    bp.condition = opts.condition;
    bp.ignoreCount = opts.ignoreCount ?? 0;
    if (!this.breakpoints.addressInUse(address, bp.id)) {
      try {
        await this.target.insertBreakpoint(address, kind);
      } catch (err) {
        this.breakpoints.remove(bp.id);
        throw err;
      }
    }
    return bp;
  }

  /** Where a location as the user writes it is, at run time. */
  async resolveBreakLocation(location: string): Promise<bigint> {
    return this.symbols.resolveLocation(location);
  }

  /** gdb's enable / disable N. */
  async setBreakpointEnabled(id: number, enabled: boolean): Promise<void> {
    void id;
    void enabled;
    throw new KdiveError('enable/disable: not wired in yet');
  }

  /** A hardware watchpoint on an lvalue expression (watch / rwatch / awatch). */
  async addWatchpoint(expression: string, kind: WatchKind = 'write'): Promise<Breakpoint> {
    void expression;
    void kind;
    throw new KdiveError('watch: not wired in yet');
  }

  async deleteBreakpoint(id: number): Promise<void> {
    const bp = this.breakpoints.remove(id);
    if (bp && !this.breakpoints.addressInUse(bp.address)) await this.target.removeBreakpoint(bp.address, bp.kind);
  }

  /**
   * Resumes every CPU and waits for the next stop or for the guest to power off.
   * A CPU stopped on one of our breakpoints is first stepped past it.
   */
  async resume(signal?: AbortSignal): Promise<SessionEvent> {
    if (this.exited) return this.exited;
    try {
      const last = this.lastStop;
      this.lastStop = undefined;
      const here = last ? this.breakpoints.at(last.pc) : [];
      const addresses = new Set(this.breakpoints.all().filter((b) => b.enabled).map((b) => b.address));
      const nop = last && here.length > 0 ? nopLength(await this.target.readMemory(last.pc, 16).catch(() => Buffer.alloc(0))) : undefined;
      if (last && nop !== undefined) {
        // The breakpoint sits on a NOP (ftrace's patched-out call at every function entry): going
        // past it is moving rip, with no single step, which would make QEMU drop its translated code.
        await this.target.resume({ pc: last.pc + BigInt(nop) });
      } else if (last && here.length > 0 && addresses.size === 1) {
        // Stopped on our only breakpoint: step past it and go on, in as few round trips as the stub allows.
        const early = await this.target.resumeOverBreakpoint(last.pc, here[0]!.kind, last.threadId);
        if (early) return await this.describeStop(early);
      } else if (last && here.length > 0) {
        // Other breakpoints exist: the step may land on one of them, so look where it went.
        await this.target.removeBreakpoint(last.pc, here[0]!.kind);
        let step: StopEvent;
        try {
          step = await this.target.step(last.threadId);
        } finally {
          await this.target.insertBreakpoint(last.pc, here[0]!.kind);
        }
        const after = await this.describeStop(step);
        if (after.kind !== 'stop' || after.reason !== 'trap') return after;
        this.lastStop = undefined;
        await this.target.resume();
      } else {
        await this.target.resume();
      }
      const stop = await this.target.waitForStop(signal);
      return await this.describeStop(stop);
    } catch (err) {
      if (err instanceof ConnectionClosedError && this.vm) return this.finishExit();
      throw err;
    }
  }

  /** Asks the running kernel to stop (Ctrl-C) and reports the stop. */
  async interrupt(): Promise<SessionEvent> {
    throw new KdiveError('interrupt: not wired in yet');
  }

  /** gdb's stepi / nexti: one instruction; `over` steps over calls. */
  async stepInstruction(opts: { over?: boolean; threadId?: string } = {}): Promise<SessionEvent> {
    void opts;
    throw new KdiveError('stepi: not wired in yet');
  }

  /** gdb's step / next: to the next source line; `over` does not enter called functions. */
  async stepLine(opts: { over?: boolean; threadId?: string } = {}): Promise<SessionEvent> {
    void opts;
    throw new KdiveError('step: not wired in yet');
  }

  /** gdb's finish: runs until the selected frame returns; the return value when its type is known. */
  async finish(opts: { frame?: number; threadId?: string } = {}): Promise<{ event: SessionEvent; returnValue?: EvaluatedValue }> {
    void opts;
    throw new KdiveError('finish: not wired in yet');
  }

  /** gdb's until LOCATION / advance LOCATION: runs until that location (or the current frame returns). */
  async runUntil(location: string): Promise<SessionEvent> {
    void location;
    throw new KdiveError('until: not wired in yet');
  }

  /** vCPUs (QEMU) or tasks (kgdb). */
  async threads(): Promise<SessionThread[]> {
    return (await this.target.threads()).map((t) => ({ id: t.id, cpu: this.target.stubName === 'qemu' ? cpuOfThread(t.id) : undefined, description: t.description }));
  }

  /** Registers of a CPU at the current stop. */
  registers(threadId?: string): Promise<RegisterValues> {
    return this.target.readRegisters(threadId);
  }

  /** The integer argument registers, as they are at a function's first instruction. */
  async argumentRegisters(threadId?: string): Promise<{ name: string; value: bigint }[]> {
    const regs = await this.registers(threadId);
    return ARGUMENT_REGISTERS.map((name) => ({ name, value: regs.get(name) ?? 0n }));
  }

  /** The kernel stack of a stopped CPU, unwound with the image's ORC tables. */
  async backtrace(threadId?: string, maxFrames = 64): Promise<Backtrace> {
    const regs = await this.registers(threadId);
    const rip = regs.get('rip') ?? 0n;
    const rsp = regs.get('rsp') ?? 0n;
    const rbp = regs.get('rbp') ?? 0n;
    if (!this.symbols.orc) throw new KdiveError(`${this.symbols.vmlinuxPath} has no ORC tables (.orc_unwind): cannot unwind`);
    const gprs: Record<string, bigint> = {};
    for (const name of regs.names()) {
      const v = regs.get(name);
      if (v !== undefined) gprs[name] = v;
    }
    const result = await unwindOrc(
      { ip: rip, sp: rsp, bp: rbp, regs: gprs },
      {
        orc: this.symbols.orc,
        slide: this.symbols.slide,
        maxFrames,
        readU64: async (address) => (await this.target.readMemory(address, 8)).readBigUInt64LE(0),
      },
    );
    const frameRegs = await this.callerRegisters(result.frames, regs);
    const frames: Frame[] = [];
    for (const [index, f] of result.frames.entries()) {
      // A caller's pc is a return address: the call is the instruction before it.
      const lookup = index === 0 || f.kind !== 'call' ? f.pc : f.pc - 1n;
      const sym = this.symbols.symbolize(f.pc, lookup);
      const source = await this.symbols.sourceFrames(lookup, this.frameContext(index, result.frames[index + 1]?.cfa, frameRegs[index], sym?.offset === 0n));
      const base = { pc: f.pc, sp: f.sp, kind: f.kind, reliable: f.reliable };
      // Inlined functions first, as gdb numbers them, each at the same pc.
      for (const s of source.slice(0, -1)) {
        frames.push({ ...base, index: frames.length, function: s.function, file: s.shortFile, line: s.line, inlined: true, args: s.args, locals: s.locals });
      }
      const outer = source[source.length - 1];
      frames.push({ ...base, index: frames.length, function: sym?.function ?? outer?.function, offset: sym?.offset, file: outer?.shortFile, line: outer?.line, inlined: false, args: outer?.args, locals: outer?.locals });
    }
    return { frames, end: result.end };
  }

  /**
   * Register values of each physical frame, by DWARF number: all of them in frame 0; in callers,
   * what .debug_frame recovers (callee-saved registers, sp, pc), checked against the ORC walk.
   * A frame whose CFI disagrees with ORC, or has none, gets nothing more than ORC's sp and pc.
   */
  private async callerRegisters(walk: { pc: bigint; sp: bigint; kind: string }[], regs: RegisterValues): Promise<Map<number, bigint>[]> {
    const out: Map<number, bigint>[] = [];
    const first = new Map<number, bigint>();
    DWARF_REGISTER_NAMES.forEach((name, regno) => {
      const v = regs.get(name);
      if (v !== undefined) first.set(regno, v);
    });
    out.push(first);
    const cfi = await this.symbols.callFrameInfo();
    let current: Map<number, bigint> | undefined = first;
    for (let i = 0; i + 1 < walk.length; i++) {
      const next = walk[i + 1]!;
      let caller: Map<number, bigint> | undefined;
      if (current && cfi && next.kind === 'call') {
        const lookup = (i === 0 || walk[i]!.kind !== 'call' ? walk[i]!.pc : walk[i]!.pc - 1n) - this.symbols.slide;
        const rules = cfi.rulesAt(lookup);
        const step: { caller: Map<number, bigint> } | undefined = rules ? await unwindRegistersWithCfi(rules, current, async (a) => (await this.target.readMemory(a, 8)).readBigUInt64LE(0)) : undefined;
        if (step && step.caller.get(16) === next.pc && step.caller.get(7) === next.sp) caller = step.caller;
      }
      out.push(caller ?? new Map([[7, next.sp], [16, next.pc]]));
      current = caller;
    }
    return out;
  }

  /** What DWARF location expressions may read in one frame; registers nobody recovered are <unavailable>. */
  private frameContext(index: number, cfa: bigint | undefined, regs: Map<number, bigint> | undefined, atEntry: boolean): ExpressionContext {
    const known = (regno: number): bigint | undefined => regs?.get(regno);
    return {
      readRegister: known,
      readMemory: (address, length) => this.target.readMemory(address, length),
      cfa,
      // At a function's first instruction, every register still holds its value on entry.
      entryRegister: index === 0 && atEntry ? known : undefined,
    };
  }

  /**
   * Evaluates a C expression (members, `->`, `*`, `&`, `[]`, casts, arithmetic, `$rip`, `sizeof`)
   * in a frame of the selected thread (frame 0 by default), as gdb's `print` would.
   */
  async evaluate(expression: string, opts: { frame?: number; threadId?: string } = {}): Promise<EvaluatedValue> {
    void expression;
    void opts;
    throw new KdiveError('expressions are not wired in yet');
  }

  readMemory(address: bigint, length: number): Promise<Buffer> {
    return this.target.readMemory(address, length);
  }

  /** Ends everything: our breakpoints out of the guest, the connection, QEMU and its run folder. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.vm && !this.exited) {
        // QEMU is killed right after: removing breakpoints first still matters for a shared stub.
        await Promise.race([this.target.detach().catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]);
      }
    } finally {
      this.target.close();
      await this.vm?.kill();
      await this.symbols.close();
      this.cleanup();
    }
  }

  private async describeStop(stop: StopEvent): Promise<SessionEvent> {
    if (stop.reason === 'exited' || stop.reason === 'terminated') return this.finishExit();
    const threadId = stop.threadId ?? '01';
    const regs = await this.target.readRegisters(threadId);
    const pc = regs.get('rip') ?? 0n;
    this.lastStop = { threadId, pc };
    const cpu = cpuOfThread(threadId);
    const hit = stop.reason === 'trap' ? this.breakpoints.at(pc) : [];
    if (hit.length > 0) {
      for (const bp of hit) bp.hits++;
      return { kind: 'breakpoint', breakpoints: hit, threadId, cpu, pc };
    }
    return { kind: 'stop', reason: stop.reason, signal: stop.signal, threadId, cpu, pc };
  }

  private async finishExit(): Promise<SessionEvent> {
    const status = await this.vm!.exited;
    this.exited = { kind: 'exit', guestStatus: parseGuestExit(this.vm!.consoleText()), qemuExitCode: status.code };
    return this.exited;
  }
}

