import { ARGUMENT_REGISTERS } from '../arch/x86_64/calling-convention.js';
import { DWARF_REGISTER_NAMES } from '../arch/x86_64/dwarf-registers.js';
import { decodeInstruction } from '../arch/x86_64/instruction-decoder.js';
import { callSiteValues, unwindRegistersWithCfi, type ExpressionContext } from '../symbols/dwarf/index.js';
import { KdiveError, NotFoundError } from '../errors.js';
import { returnTypeAt } from '../symbols/dwarf/function-signature.js';
import { RunControl, type RawStop } from './run-control.js';
import { slideFromIdt } from './kaslr-discovery.js';
import type { KernelArtifacts } from '../kernels/index.js';
import { silentProgress, type ProgressReporter } from '../progress/progress.js';
import { parseGuestExit } from '../rootfs/index.js';
import { prepareGuestLaunch, type GuestLaunch } from './guest-launch.js';
import type { GuestDevicesOptions } from '../vm/guest-devices.js';
import { GdbRemoteTarget } from '../target/gdb-remote/index.js';
import type { BreakpointKind, RegisterValues, StopEvent, Target, WatchKind } from '../target/target.js';
import { ConnectionClosedError } from '../target/target-error.js';
import { connectTcp, connectUnix } from '../transport/index.js';
import { unwindFramePointers, unwindOrc, type UnwindResult, type UnwindStart } from '../unwind/index.js';
import { ModuleSymbols } from '../os/linux/module-symbols.js';
import { launchQemu, type LaunchOptions, type QemuInstance } from '../vm/index.js';
import type { QmpClient } from '../vm/qmp-client.js';
import { listSnapshots, loadSnapshot, saveSnapshot, scratchSnapshotDisk } from '../vm/live-snapshots.js';
import { BreakpointTable, type Breakpoint, type BreakpointLocation } from './breakpoints.js';
import type { Backtrace, Frame } from './frames.js';
import { KernelSymbols } from './kernel-symbols.js';
import { cpuOfThread } from './thread-cpu.js';
import { callConvenienceFunction } from './convenience-functions.js';
import path from 'node:path';
import { createRunDir } from '../vm/run-dir.js';
import type { EvaluatedValue } from '../expr/evaluated-value.js';
import { ExpressionEngine, type ExpressionScope } from '../expr/expression-engine.js';
import type { PrintFormat } from '../expr/value-printer.js';
import { sessionEngineSymbols } from './expression-scope.js';
import { LinuxKernel } from '../os/linux/linux-kernel.js';
import { KernelTypes } from '../os/linux/kernel-view.js';
import { currentTask, currentTaskOf, perCpuOffset } from '../os/linux/percpu.js';

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
  /** Attach a scratch qcow2 disk so live snapshots (saveSnapshot/loadSnapshot) work. */
  snapshots?: boolean;
  /** Port forwards, shared folders, disks and a root device. */
  devices?: GuestDevicesOptions;
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

/** What a resume or step ended with. */
export type SessionEvent =
  | { kind: 'breakpoint'; breakpoints: Breakpoint[]; threadId: string; cpu: number; pc: bigint; conditionError?: string }
  | { kind: 'watchpoint'; watchpoints: Breakpoint[]; address: bigint; threadId: string; cpu: number; pc: bigint; oldValue?: string; newValue?: string }
  | { kind: 'stop'; reason: StopEvent['reason']; signal?: number; threadId: string; cpu: number; pc: bigint }
  | { kind: 'exit'; guestStatus?: number; qemuExitCode: number | null };

/** `virtio_net:virtnet_open`: a module and a function (FILE:LINE has a dot or a line number). */
export function isModuleLocation(location: string): boolean {
  return /^[A-Za-z_]\w*:[A-Za-z_]\w*$/.test(location.trim());
}

/** Steps a line step takes at most before it gives up and reports where it is. */
const MAX_LINE_STEPS = 100_000;

/**
 * One debugged kernel: a target, its symbols and (when we booted it) its VM.
 * Front ends (CLI, REPL, DAP) drive this; it holds all of the debugging logic.
 */
export class Session {
  readonly breakpoints = new BreakpointTable();
  private readonly run: RunControl;
  private exited: SessionEvent | undefined;
  private closed = false;
  /** The resume or step in progress: interrupt() waits for it to report the stop. */
  private activity: Promise<SessionEvent> | undefined;
  private stopRequested = false;

  /** The thread (vCPU under QEMU, task under kgdb) that commands act on: the one that last stopped. */
  selectedThread: string | undefined;

  private constructor(
    readonly target: Target,
    readonly symbols: KernelSymbols,
    readonly vm: QemuInstance | undefined,
    private readonly cleanup: () => void = () => {},
  ) {
    this.run = new RunControl(target, this.breakpoints);
  }

  /**
   * A session over a target someone else connected (kgdb set-ups, tests, the proxy).
   * `close()` ends `vm` too when one is given, and runs `cleanup` last.
   */
  static fromTarget(target: Target, symbols: KernelSymbols, opts: { vm?: QemuInstance; cleanup?: () => void; consoleText?: () => string } = {}): Session {
    const session = new Session(target, symbols, opts.vm, opts.cleanup);
    session.consoleText = opts.consoleText;
    return session;
  }

  /** The guest console when it does not come through QEMU's stdout (kgdb: the demultiplexed serial line). */
  private consoleText: (() => string) | undefined;

  /**
   * Attaches to a stub that is already listening (QEMU started with `-s`, a kgdb proxy...) with
   * the symbols of the kernel it runs. The kernel stays stopped until resume().
   */
  static async attach(opts: { host?: string; port?: number; socketPath?: string; vmlinux: string; profile?: 'qemu' | 'kgdb' | 'generic' | 'auto'; progress?: ProgressReporter; symbols?: KernelSymbols }): Promise<Session> {
    const symbols = opts.symbols ?? (await KernelSymbols.open(opts.vmlinux, opts.progress));
    try {
      // A unix socket (QEMU's gdbstub or a kgdb serial line in a private folder) or host:port.
      const socket = opts.socketPath ? await connectUnix(opts.socketPath, { timeoutMs: 10_000 }) : await connectTcp(opts.host ?? '127.0.0.1', opts.port ?? 1234, { timeoutMs: 10_000 });
      const target = await GdbRemoteTarget.connect(socket, { profile: opts.profile ?? 'auto' });
      const session = new Session(target, symbols, undefined);
      session.selectedThread = target.initialStop?.threadId;
      try {
        await session.locateStoppedKernel();
      } catch (err) {
        await session.close();
        throw err;
      }
      return session;
    } catch (err) {
      await symbols.close();
      throw err;
    }
  }

  /**
   * With KASLR on, lets the kernel boot (interrupting it every few hundred ms) until its IDT gives
   * the slide; breakpoints by name can be placed only after that. Functions that run before
   * trap_init cannot be caught this way: boot without KASLR for those.
   */
  private async discoverSlide(timeoutMs = 180_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (let wait = 50; Date.now() < deadline; wait = Math.min(wait * 2, 400)) {
      await this.target.resume();
      await new Promise((r) => setTimeout(r, wait));
      const stop = await this.target.interrupt();
      if (stop.reason === 'exited' || stop.reason === 'terminated') throw new KdiveError('the guest ended before its kernel could be located');
      try {
        this.symbols.slide = await slideFromIdt((a, n) => this.target.readMemory(a, n), this.symbols);
        return;
      } catch (err) {
        if (err instanceof KdiveError && /linux_banner differs/.test(err.message)) throw err;
        last = err;
      }
    }
    throw new KdiveError(`could not locate the kernel (KASLR) within ${timeoutMs / 1000} s: ${last instanceof Error ? last.message : String(last)}`);
  }

  /** On attach: the slide of a kernel that is already up (0 when its banner is where the vmlinux says). */
  private async locateStoppedKernel(): Promise<void> {
    const banner = this.symbols.table.lookup('linux_banner')[0]?.address;
    if (banner === undefined) return;
    const expected = await this.symbols.elf.readVirtual(banner, 64);
    const live = await this.target.readMemory(banner, 64).catch(() => undefined);
    if (live?.equals(expected)) return;
    // Not at its link address: KASLR, or not yet decompressed (then stay at 0 and let the user go on).
    this.symbols.slide = await slideFromIdt((a, n) => this.target.readMemory(a, n), this.symbols).catch(() => 0n);
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
    let guest: GuestLaunch | undefined;
    try {
      guest = await prepareGuestLaunch(opts.kernel, opts.guestCommand, opts.devices, work.path, progress);
      const launch = { ...(opts.launch ?? {}) };
      launch.extraArgs = [...(launch.extraArgs ?? []), ...(guest.launch.extraArgs ?? [])];
      launch.sharedMemory = launch.sharedMemory || guest.launch.sharedMemory;
      if (opts.snapshots) {
        launch.extraArgs = [...(launch.extraArgs ?? []), ...(await scratchSnapshotDisk(work.path))];
      }
      vm = await launchQemu({
        memoryMiB: opts.memoryMiB ?? 512,
        cpus: opts.cpus ?? 1,
        ...launch,
        kernel: opts.kernel.bzImage,
        initrd: guest.initrd,
        append: ['console=ttyS0', ...(opts.kaslr ? [] : ['nokaslr']), 'panic=-1', 'oops=panic', ...guest.append, ...(opts.append ?? []), ...(launch.append ? [launch.append] : [])].join(' '),
        halted: true,
      });
      if (opts.onConsole) vm.onConsole(opts.onConsole);
      const socket = await connectTcp(vm.gdb.host, vm.gdb.port, { timeoutMs: 10_000, retryUntilMs: 10_000 });
      const target = await GdbRemoteTarget.connect(socket, { profile: 'qemu' });
      const stopGuest = guest.stop;
      const session = new Session(target, symbols, vm, () => {
        stopGuest();
        work.remove();
      });
      if (opts.kaslr) {
        const task = progress.start('booting until the kernel can be located (KASLR)');
        try {
          await session.discoverSlide();
          task.finish();
        } catch (err) {
          task.fail();
          await session.close();
          throw err;
        }
      }
      return session;
    } catch (err) {
      await vm?.kill();
      guest?.stop();
      await symbols.close();
      work.remove();
      throw err;
    }
  }

  /**
   * A breakpoint at a function, FILE:LINE (every place gdb would put it: a header line inlined into
   * hundreds of functions has hundreds of locations) or `*ADDRESS`; unknown locations fail before
   * anything changes, and a location that cannot be inserted takes the others out again.
   */
  async addBreakpoint(location: string, options: BreakpointKind | BreakpointOptions = {}): Promise<Breakpoint> {
    const opts = typeof options === 'string' ? { kind: options } : options;
    const kind = opts.kind ?? 'software';
    let locations: Omit<BreakpointLocation, 'enabled'>[];
    try {
      locations = await this.resolveBreakLocations(location);
    } catch (err) {
      // MODULE:FUNCTION of a module not loaded yet: pending until it loads (a typo in a vmlinux name stays an error).
      if (!(err instanceof NotFoundError) || !isModuleLocation(location)) throw err;
      return this.addPendingBreakpoint(location, kind, opts);
    }
    const bp = this.breakpoints.add(location, locations[0]!.address, kind, opts.temporary ?? false, locations);
    bp.condition = opts.condition;
    bp.ignoreCount = opts.ignoreCount ?? 0;
    try {
      for (const loc of bp.locations) await this.run.sync(loc.address, kind);
    } catch (err) {
      this.breakpoints.remove(bp.id);
      for (const loc of bp.locations) await this.run.sync(loc.address, kind).catch(() => undefined); // best effort: the insert error is the one to report
      throw err;
    }
    return bp;
  }

  /** The module-load hook (do_init_module's first instruction) while some breakpoint is pending. */
  private moduleLoadHook: bigint | undefined;

  private async addPendingBreakpoint(location: string, kind: BreakpointKind, opts: BreakpointOptions): Promise<Breakpoint> {
    const bp = this.breakpoints.add(location.trim(), 0n, kind, opts.temporary ?? false);
    bp.pending = true;
    bp.condition = opts.condition;
    bp.ignoreCount = opts.ignoreCount ?? 0;
    try {
      if (this.moduleLoadHook === undefined) {
        // At do_init_module a new module's code and kallsyms are in place and its init has not run.
        const hook = this.symbols.resolveLocation('do_init_module');
        await this.run.addInternal(hook);
        this.moduleLoadHook = hook;
      }
    } catch (err) {
      this.breakpoints.remove(bp.id);
      throw err;
    }
    return bp;
  }

  /** At the module-load hook: pending breakpoints whose module is now there are put in. */
  private async resolvePendingBreakpoints(): Promise<void> {
    const pending = this.breakpoints.all().filter((b) => b.pending);
    const modules = pending.length ? await this.loadedModules() : undefined;
    for (const bp of pending) {
      const found = await modules?.lookup(bp.location).catch(() => undefined);
      if (!found) continue;
      bp.address = found.address;
      bp.locations = [{ address: found.address, enabled: true, function: bp.location.split(':').pop() }];
      bp.pending = false;
      await this.run.sync(found.address, bp.kind);
    }
    await this.dropModuleHookIfUnused();
  }

  private async dropModuleHookIfUnused(): Promise<void> {
    if (this.moduleLoadHook === undefined || this.breakpoints.all().some((b) => b.pending)) return;
    const hook = this.moduleLoadHook;
    this.moduleLoadHook = undefined;
    await this.run.removeInternal(hook);
  }

  /** Where a location as the user writes it (`do_mkdirat`, `fs/namei.c:4169`, `*0xffff...`) is at run time: its first address. */
  async resolveBreakLocation(location: string): Promise<bigint> {
    return (await this.resolveBreakLocations(location))[0]!.address;
  }

  /** Every run-time address of a location, with the function and line of each when known. */
  async resolveBreakLocations(location: string): Promise<Omit<BreakpointLocation, 'enabled'>[]> {
    if (/^\d+$/.test(location.trim())) location = await this.lineInCurrentFile(Number(location.trim()));
    const fileLine = /^(.+\.[chS]):(\d+)$/.exec(location.trim());
    if (fileLine) {
      if (!this.symbols.dwarf) throw new NotFoundError(`${this.symbols.vmlinuxPath} has no DWARF: cannot place a breakpoint at ${location}`);
      const found = await this.symbols.dwarf.lineLocations(fileLine[1]!, Number(fileLine[2]));
      return found.locations.map((l) => ({ address: l.address + this.symbols.slide, function: l.function, file: l.shortFile, line: l.line }));
    }
    let address: bigint;
    try {
      address = this.symbols.resolveLocation(location);
    } catch (err) {
      // Not in vmlinux: a function of a loaded module (`name` or `module:name`), from the kernel's own kallsyms.
      const inModule = err instanceof NotFoundError && /^[\w.]+(:\w+)?$/.test(location.trim()) ? await (await this.loadedModules())?.lookup(location.trim()).catch(() => undefined) : undefined;
      if (!inModule) throw err;
      return [{ address: inModule.address, function: location.trim().split(':').pop() }];
    }
    const where = await this.symbols.sourceFrames(address);
    const inner = where[0];
    const outer = where[where.length - 1];
    // gdb names a function breakpoint after the function, an address after the code there (inlined or not).
    const named = /^[A-Za-z_]\w*$/.test(location.trim()) ? location.trim() : undefined;
    return [{ address, function: named ?? inner?.function, file: outer?.shortFile, line: outer?.line }];
  }

  /** A bare line number, as gdb reads it: that line of the file the selected thread is stopped in. */
  async lineInCurrentFile(line: number, threadId?: string): Promise<string> {
    const here = await this.lineAt((await this.registers(threadId)).get('rip') ?? 0n);
    if (!here) throw new NotFoundError(`line ${line}: no default source file (the pc has no line information)`);
    return `${here.shortFile}:${line}`;
  }

  async deleteBreakpoint(id: number): Promise<void> {
    const bp = this.breakpoints.remove(id);
    if (!bp) throw new NotFoundError(`no breakpoint number ${id}`);
    if (bp.watch) await this.target.removeWatchpoint(bp.address, bp.watch.length, bp.watch.kind);
    else if (bp.pending) await this.dropModuleHookIfUnused();
    else for (const loc of bp.locations) await this.run.sync(loc.address, bp.kind);
  }

  /** gdb's enable / disable N.M: one location of a breakpoint (numbered from 1). */
  async setBreakpointLocationEnabled(id: number, location: number, enabled: boolean): Promise<void> {
    const bp = this.breakpoints.get(id);
    const loc = bp?.locations[location - 1];
    if (!bp || bp.watch || bp.pending || !loc) throw new NotFoundError(`Bad breakpoint location number '${location}'`);
    if (loc.enabled === enabled) return;
    loc.enabled = enabled;
    await this.run.sync(loc.address, bp.kind);
  }

  /** gdb's enable / disable N. */
  async setBreakpointEnabled(id: number, enabled: boolean): Promise<void> {
    const bp = this.breakpoints.get(id);
    if (!bp) throw new NotFoundError(`no breakpoint number ${id}`);
    if (bp.enabled === enabled) return;
    bp.enabled = enabled;
    if (bp.watch) {
      if (enabled) await this.target.insertWatchpoint(bp.address, bp.watch.length, bp.watch.kind);
      else await this.target.removeWatchpoint(bp.address, bp.watch.length, bp.watch.kind);
    } else if (!bp.pending) for (const loc of bp.locations) await this.run.sync(loc.address, bp.kind);
  }

  /** A hardware watchpoint on an lvalue expression (watch / rwatch / awatch). */
  async addWatchpoint(expression: string, kind: WatchKind = 'write'): Promise<Breakpoint> {
    const value = await this.evaluate(expression);
    if (value.address === undefined) throw new KdiveError(`cannot watch '${expression}': it is not a value in memory`);
    const size = await this.evaluate(`sizeof(${expression})`);
    const length = Number(size.scalar ?? 8n);
    const bp = this.breakpoints.add(expression, value.address, 'hardware');
    bp.watch = { expression, length, kind, lastValue: value.text };
    try {
      await this.target.insertWatchpoint(value.address, length, kind);
    } catch (err) {
      this.breakpoints.remove(bp.id);
      throw err;
    }
    return bp;
  }

  /**
   * Resumes every CPU and waits for the next stop that counts: a breakpoint whose condition holds
   * and whose ignore count is used up, a watchpoint, a signal, an interrupt, or the guest powering off.
   */
  resume(signal?: AbortSignal): Promise<SessionEvent> {
    return this.exclusive(async () => {
      for (;;) {
        const event = await this.settle(await this.run.continueOnce(signal));
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
    if (this.target.running) await this.target.requestStop();
    return running;
  }

  /** Whether a resume or step is in progress. */
  get isRunning(): boolean {
    return this.activity !== undefined;
  }

  /** gdb's stepi / nexti: one instruction; `over` runs a call to its return. */
  stepInstruction(opts: { over?: boolean; threadId?: string } = {}): Promise<SessionEvent> {
    return this.exclusive(async () => {
      const tid = this.threadFor(opts.threadId);
      if (opts.over) {
        const call = await this.callAt(tid);
        if (call) return this.runTo([call.returnAddress], call.sp, tid);
      }
      return this.settleStep(await this.run.step(tid));
    });
  }

  /**
   * gdb's step / next: single-steps until the pc reaches the start of another source line.
   * `next` runs calls to their return; `step` stops at the first line of a called function with
   * line information and runs through those without (assembly thunks).
   */
  stepLine(opts: { over?: boolean; threadId?: string } = {}): Promise<SessionEvent> {
    return this.exclusive(async () => {
      const tid = this.threadFor(opts.threadId);
      let pc = (await this.registers(tid)).get('rip') ?? 0n;
      const start = await this.lineAt(pc);
      // No line information here: like gdb, run until the function returns.
      if (!start) return (await this.finishFrame(0, tid)).event;
      let event: SessionEvent = this.stoppedAt('trap', tid, pc);
      for (let n = 0; n < MAX_LINE_STEPS; n++) {
        if (this.stopRequested) return this.stoppedHere('interrupt');
        const call = await this.callAt(tid, pc);
        event = call && opts.over ? await this.runTo([call.returnAddress], call.sp, tid) : await this.settleStep(await this.run.step(tid));
        if (event.kind !== 'stop' || event.reason !== 'trap') return event;
        pc = event.pc;
        const here = await this.lineAt(pc);
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
      result = await this.finishFrame(opts.frame ?? 0, this.threadFor(opts.threadId));
      return result.event;
    });
    return { ...result, event };
  }

  /** gdb's until LOCATION / advance LOCATION: runs until that location, or until the current frame returns. */
  runUntil(location: string, opts: { threadId?: string } = {}): Promise<SessionEvent> {
    return this.exclusive(async () => {
      const tid = this.threadFor(opts.threadId);
      const address = await this.resolveBreakLocation(location);
      const bt = await this.backtrace(tid, 8).catch(() => undefined);
      const caller = bt?.frames.find((f, i) => i > 0 && !bt.frames[i - 1]!.inlined && f.kind === 'call');
      const frameSp = bt?.frames[0]?.sp;
      return this.runTo(caller ? [address, caller.pc] : [address], undefined, tid, frameSp);
    });
  }

  /** A live snapshot of the VM (RAM, CPUs, devices) in its qcow2 disk (BootOptions.snapshots). */
  async saveSnapshot(name: string): Promise<void> {
    await saveSnapshot(this.requireVm('snapshots'), name);
  }

  /** Back to a snapshot: the kernel stays stopped, where the snapshot was taken. */
  async loadSnapshot(name: string): Promise<void> {
    await loadSnapshot(this.requireVm('snapshots'), name);
    this.run.forgetStop();
    this.target.forgetState?.();
  }

  listSnapshots(): Promise<string[]> {
    return listSnapshots(this.requireVm('snapshots'));
  }

  private requireVm(what: string): QmpClient {
    if (!this.vm || this.vm.hasExited) throw new KdiveError(`${what} need the VM kdive booted`);
    return this.vm.qmp;
  }

  /** vCPUs (QEMU) or tasks (kgdb). */
  async threads(): Promise<SessionThread[]> {
    return (await this.target.threads()).map((t) => ({ id: t.id, cpu: this.target.stubName === 'qemu' ? cpuOfThread(t.id) : undefined, description: t.description }));
  }

  private async finishFrame(frameIndex: number, tid: string): Promise<{ event: SessionEvent; returnValue?: EvaluatedValue; frame?: Frame }> {
    const bt = await this.backtrace(tid, frameIndex + 16);
    let i = frameIndex;
    while (bt.frames[i]?.inlined) i++;
    const frame = bt.frames[i];
    const caller = bt.frames[i + 1];
    if (!frame || !caller) throw new KdiveError('"finish" not meaningful in the outermost frame');
    if (caller.kind !== 'call') throw new KdiveError(`cannot finish ${frame.function ?? 'this frame'}: it was entered by an interrupt or a system call, not called`);
    const event = await this.runTo([caller.pc], frame.sp, tid);
    if (event.kind !== 'stop' || event.pc !== caller.pc) return { event, frame };
    const lookup = (i === 0 ? frame.pc : frame.pc - 1n) - this.symbols.slide;
    const type = this.symbols.dwarf ? await returnTypeAt(this.symbols.dwarf, lookup).catch(() => undefined) : undefined;
    if (!type || type === 'void') return { event, frame };
    const returnValue = await this.evaluate(`(${type})$rax`).catch(async () => {
      const rax = (await this.registers(tid)).get('rax') ?? 0n;
      return { text: String(rax), type, scalar: rax, hasChildren: false, children: async () => [] } satisfies EvaluatedValue;
    });
    return { event, returnValue, frame };
  }

  /**
   * Resumes until one of `addresses` is reached by thread `tid` (with its stack pointer above
   * `spAbove`, so a recursive call does not count), or until something else stops the kernel.
   */
  private async runTo(addresses: bigint[], spAbove: bigint | undefined, tid: string, frameSp?: bigint): Promise<SessionEvent> {
    const added: bigint[] = [];
    try {
      for (const a of addresses) {
        await this.run.addInternal(a);
        added.push(a);
      }
      for (;;) {
        if (this.stopRequested) return this.stoppedHere('interrupt');
        const raw = await this.run.continueOnce();
        if (raw.kind === 'breakpoint' && raw.internal && addresses.includes(raw.pc) && raw.threadId === tid) {
          const sp = (await this.registers(tid)).get('rsp') ?? 0n;
          const limit = raw.pc === addresses[0] && frameSp !== undefined ? undefined : spAbove ?? frameSp;
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
      for (const a of added) await this.run.removeInternal(a);
    }
  }

  /** Applies conditions, ignore counts and temporary deletion to a raw stop; undefined = keep going. */
  private async settle(raw: RawStop): Promise<SessionEvent | undefined> {
    if (raw.kind === 'gone') return this.finishExit();
    if (raw.kind === 'stop') return raw;
    if (raw.kind === 'breakpoint' && raw.internal && raw.pc === this.moduleLoadHook) await this.resolvePendingBreakpoints();
    if (raw.kind === 'watchpoint') {
      const event: SessionEvent = { ...raw };
      for (const w of raw.watchpoints) {
        w.hits++;
        if (w.watch && w.watch.kind !== 'read') {
          const now = await this.evaluate(w.watch.expression).then((v) => v.text).catch(() => undefined);
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
          const v = await this.evaluate(bp.condition, { threadId: raw.threadId });
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
    for (const bp of stopping.filter((b) => b.temporary)) await this.deleteBreakpoint(bp.id);
    return { kind: 'breakpoint', breakpoints: stopping, threadId: raw.threadId, cpu: raw.cpu, pc: raw.pc, ...(conditionError ? { conditionError } : {}) };
  }

  /** A step's stop: steps land on breakpoints without hitting them. */
  private async settleStep(raw: RawStop): Promise<SessionEvent> {
    if (raw.kind === 'breakpoint') return this.stoppedAt('trap', raw.threadId, raw.pc);
    return (await this.settle(raw)) ?? this.stoppedHere('trap');
  }

  private stoppedAt(reason: StopEvent['reason'], threadId: string, pc: bigint): SessionEvent {
    return { kind: 'stop', reason, threadId, cpu: cpuOfThread(threadId), pc };
  }

  private stoppedHere(reason: StopEvent['reason']): SessionEvent {
    const last = this.run.lastStop;
    return this.stoppedAt(reason, last?.threadId ?? this.selectedThread ?? '01', last?.pc ?? 0n);
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
        if (err instanceof ConnectionClosedError && this.vm) return this.finishExit();
        throw err;
      }
    })();
    this.activity = p;
    try {
      const event = await p;
      if (event.kind !== 'exit') this.selectedThread = event.threadId;
      return event;
    } finally {
      this.activity = undefined;
      this.stopRequested = false;
    }
  }

  private threadFor(threadId: string | undefined): string {
    return threadId ?? this.selectedThread ?? this.run.lastStop?.threadId ?? '01';
  }

  /** The call instruction at a thread's pc, with where it returns to and the stack pointer before it. */
  private async callAt(tid: string, pcHint?: bigint): Promise<{ returnAddress: bigint; sp: bigint } | undefined> {
    const regs = await this.registers(tid);
    const pc = pcHint ?? regs.get('rip') ?? 0n;
    const code = await this.target.readMemory(pc, 16).catch(() => undefined);
    const insn = code && decodeInstruction(code, pc);
    return insn?.isCall ? { returnAddress: pc + BigInt(insn.length), sp: regs.get('rsp') ?? 0n } : undefined;
  }

  /** The line-table row at a run-time pc, in run-time addresses. */
  async lineAt(pc: bigint): Promise<{ file: string; shortFile: string; line: number; start: bigint; end: bigint } | undefined> {
    const l = await this.symbols.dwarf?.lineFor(pc - this.symbols.slide).catch(() => undefined);
    return l && { file: l.file, shortFile: l.shortFile, line: l.line, start: l.start + this.symbols.slide, end: l.end + this.symbols.slide };
  }

  /** Resumes from a breakpoint that applied the instruction under it rather than single-stepping it. */
  get emulatedBreakpointSteps(): number {
    return this.run.emulatedCount;
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
    const gprs: Record<string, bigint> = {};
    for (const name of regs.names()) {
      const v = regs.get(name);
      if (v !== undefined) gprs[name] = v;
    }
    const result = !this.symbols.orc ? await this.unwindWithFramePointers(rip, rsp, rbp, maxFrames) : await this.orcWalk({ ip: rip, sp: rsp, bp: rbp, regs: gprs }, maxFrames);
    const modules = await this.loadedModules();
    const frameRegs = await this.callerRegisters(result.frames, regs);
    const frames: Frame[] = [];
    for (const [index, f] of result.frames.entries()) {
      // A caller's pc is a return address: the call is the instruction before it.
      const lookup = index === 0 || f.kind !== 'call' ? f.pc : f.pc - 1n;
      // vmlinux's table would name module code after its own last symbol: modules first.
      const sym = modules?.moduleAt(lookup) ? await this.moduleSymbol(modules, f.pc, lookup) : this.symbols.symbolize(f.pc, lookup);
      const context = this.frameContext(index, result.frames[index + 1]?.cfa, frameRegs[index], sym?.offset === 0n);
      const caller = result.frames[index + 1];
      if (caller?.kind === 'call' && sym && !modules?.moduleAt(lookup)) {
        // What the caller passed, from its call site: gdb's `dfd=dfd@entry=-100` and DW_OP_entry_value in callers.
        const passed = await this.callSiteValues(caller.pc, { entry: f.pc - sym.offset, name: sym.function }, this.frameContext(index + 1, result.frames[index + 2]?.cfa, frameRegs[index + 1], false));
        context.callSiteValue = (regno) => passed.get(regno);
      }
      const source = await this.symbols.sourceFrames(lookup, context);
      const base = { pc: f.pc, sp: f.sp, kind: f.kind, reliable: f.reliable };
      // Inlined functions first, as gdb numbers them, each at the same pc.
      for (const s of source.slice(0, -1)) {
        frames.push({ ...base, index: frames.length, function: s.function, file: s.shortFile, line: s.line, inlined: true, args: s.args, locals: s.locals });
      }
      const outer = source[source.length - 1];
      frames.push({ ...base, index: frames.length, function: sym?.function ?? outer?.function, offset: sym?.offset, module: sym && 'module' in sym ? (sym.module as string) : undefined, file: outer?.shortFile, line: outer?.line, inlined: false, args: outer?.args, locals: outer?.locals });
    }
    return { frames, end: result.end };
  }

  /** Register values a caller's call site says it passed (empty when its DWARF does not say, or cannot be evaluated). */
  private async callSiteValues(returnAddress: bigint, callee: { entry: bigint; name: string }, caller: ExpressionContext): Promise<Map<number, bigint>> {
    const dwarf = this.symbols.dwarf;
    if (!dwarf) return new Map();
    const slide = this.symbols.slide;
    // Bad call-site DWARF in one unit must not cost the backtrace: no entry values then, as in gdb.
    return callSiteValues(dwarf, returnAddress - slide, { entry: callee.entry - slide, name: callee.name }, caller).catch(() => new Map<number, bigint>());
  }

  /** The modules at this stop, read from the kernel once per stop (undefined without DWARF, or before the kernel is up). */
  private async loadedModules(): Promise<ModuleSymbols | undefined> {
    if (!this.symbols.dwarf) return undefined;
    if (this.modulesAtStop?.stop !== this.run.stopCount) {
      this.modulesAtStop = { stop: this.run.stopCount, modules: ModuleSymbols.read(this.linux.view, this.symbols.orc?.format).catch(() => undefined) };
    }
    return this.modulesAtStop.modules;
  }

  private modulesAtStop: { stop: number; modules: Promise<ModuleSymbols | undefined> } | undefined;

  private async moduleSymbol(modules: ModuleSymbols | undefined, pc: bigint, lookup: bigint): Promise<{ function: string; offset: bigint; module: string } | undefined> {
    const hit = await modules?.symbolize(lookup).catch(() => undefined);
    return hit && { ...hit, offset: pc - (lookup - hit.offset) };
  }

  /** The ORC walk over vmlinux's table and, for module code, each module's own table in guest memory. */
  private async orcWalk(start: UnwindStart, maxFrames: number): Promise<UnwindResult> {
    const vmlinux = this.symbols.orc!;
    const modules = await this.loadedModules();
    return unwindOrc(start, {
      orc: { find: (address, slide) => (modules?.moduleAt(address) ? modules.orcFind(address).catch(() => undefined) : vmlinux.find(address, slide)) },
      slide: this.symbols.slide,
      maxFrames,
      readU64: async (address) => (await this.target.readMemory(address, 8)).readBigUInt64LE(0),
    });
  }

  /**
   * Kernels built without ORC (CONFIG_UNWINDER_FRAME_POINTER, such as kdive's kgdb build): the rbp
   * chain. At a function's first instruction its frame is not set up yet and the return address
   * is at [rsp], so the caller is taken from there first.
   */
  private async unwindWithFramePointers(rip: bigint, rsp: bigint, rbp: bigint, maxFrames: number): Promise<UnwindResult> {
    const readU64 = async (a: bigint) => (await this.target.readMemory(a, 8)).readBigUInt64LE(0);
    const atEntry = this.symbols.symbolize(rip)?.offset === 0n;
    if (!atEntry) return unwindFramePointers({ ip: rip, sp: rsp, bp: rbp }, { readU64, maxFrames });
    const ret = await readU64(rsp);
    const rest = await unwindFramePointers({ ip: ret, sp: rsp + 8n, bp: rbp }, { readU64, maxFrames: Math.max(1, maxFrames - 1), stack: { low: rsp, high: rsp + 0x10000n } });
    const [caller, ...more] = rest.frames;
    return { frames: [{ pc: rip, sp: rsp, kind: 'initial', reliable: true }, { ...caller!, kind: 'call', cfa: rsp + 8n, reliable: false }, ...more], end: rest.end };
  }

  /**
   * What an expression needs of frame `frameIndex` (numbered as backtrace() numbers frames,
   * inlined ones included): its pc, the DWARF register values known there and the CFA.
   */
  async frameState(threadId?: string, frameIndex = 0): Promise<{ pc: bigint; lookupPc: bigint; registers: Map<number, bigint>; cfa?: bigint; context: ExpressionContext }> {
    const regs = await this.registers(threadId);
    const first = new Map<number, bigint>();
    DWARF_REGISTER_NAMES.forEach((name, regno) => {
      const v = regs.get(name);
      if (v !== undefined) first.set(regno, v);
    });
    const rip = regs.get('rip') ?? 0n;
    if (frameIndex === 0) {
      const atEntry = this.symbols.symbolize(rip)?.offset === 0n;
      return { pc: rip, lookupPc: rip, registers: first, context: this.frameContext(0, undefined, first, atEntry) };
    }
    const gprs: Record<string, bigint> = {};
    for (const name of regs.names()) {
      const v = regs.get(name);
      if (v !== undefined) gprs[name] = v;
    }
    const walk = !this.symbols.orc
      ? await this.unwindWithFramePointers(rip, regs.get('rsp') ?? 0n, regs.get('rbp') ?? 0n, frameIndex + 2)
      : await this.orcWalk({ ip: rip, sp: regs.get('rsp') ?? 0n, bp: regs.get('rbp') ?? 0n, regs: gprs }, frameIndex + 2);
    const frameRegs = await this.callerRegisters(walk.frames, regs);
    let shown = 0;
    for (const [i, f] of walk.frames.entries()) {
      const lookup = i === 0 || f.kind !== 'call' ? f.pc : f.pc - 1n;
      const count = Math.max(1, (await this.symbols.sourceFrames(lookup)).length);
      if (frameIndex < shown + count) {
        const cfa = walk.frames[i + 1]?.cfa;
        return { pc: f.pc, lookupPc: lookup, registers: frameRegs[i]!, cfa, context: this.frameContext(i, cfa, frameRegs[i], false) };
      }
      shown += count;
    }
    throw new KdiveError(`no frame #${frameIndex}: the stack has ${shown} frames`);
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
  async evaluate(expression: string, opts: { frame?: number; threadId?: string; format?: PrintFormat } = {}): Promise<EvaluatedValue> {
    const { engine, scope } = await this.expressionScope(opts);
    return engine.describe(await engine.evaluate(expression, scope), scope, opts.format);
  }

  /** gdb's `print[/FMT]`: the value numbered `$N` in the session's value history. */
  async print(expression: string, opts: { frame?: number; threadId?: string; format?: PrintFormat } = {}): Promise<{ number: number; text: string; value: EvaluatedValue }> {
    const { engine, scope } = await this.expressionScope(opts);
    return engine.print(expression, scope, opts.format);
  }

  /** gdb's whatis and ptype. */
  async describeType(expression: string, opts: { frame?: number; threadId?: string; expand?: boolean } = {}): Promise<string> {
    const { engine, scope } = await this.expressionScope(opts);
    return opts.expand ? engine.ptype(expression, scope) : engine.whatis(expression, scope);
  }

  private engine: ExpressionEngine | undefined;

  /** The expression engine and what it may read in one frame of one thread. */
  async expressionScope(opts: { frame?: number; threadId?: string } = {}): Promise<{ engine: ExpressionEngine; scope: ExpressionScope }> {
    if (!this.symbols.dwarf) throw new KdiveError(`${this.symbols.vmlinuxPath} has no DWARF: expressions need debug info`);
    this.engine ??= new ExpressionEngine(this.symbols.dwarf, sessionEngineSymbols(this.symbols));
    const tid = this.threadFor(opts.threadId);
    const regs = await this.registers(tid);
    const frame = await this.frameState(tid, opts.frame ?? 0);
    const dwarfNumber = new Map(DWARF_REGISTER_NAMES.map((n, i) => [n, i]));
    const engine = this.engine;
    const scope: ExpressionScope = {
      readMemory: (a, n) => this.target.readMemory(a, n),
      // Frame 0 sees every register; callers only what the unwinder recovered.
      readRegister: (name) => {
        if ((opts.frame ?? 0) === 0) return regs.get(name);
        const regno = dwarfNumber.get(name);
        return regno === undefined ? undefined : frame.registers.get(regno);
      },
      frame: { lookupPc: frame.lookupPc, context: frame.context },
      identifier: async (name) => (name === 'current' ? { value: await this.currentTask(tid), type: 'struct task_struct *' } : undefined),
      call: (name, args, exprs) =>
        callConvenienceFunction(name, args, exprs, {
          perCpuOffset: (cpu) => this.perCpuOffset(cpu),
          currentTask: (cpu) => (cpu === undefined ? this.currentTask(tid) : currentTaskOf(this.linux.view, cpu)),
          evaluate: (text) => engine.evaluate(text, scope),
        }),
    };
    return { engine: this.engine, scope };
  }

  private linuxKernel: LinuxKernel | undefined;

  /** Linux awareness (tasks, dmesg, modules, uname, page tables) over this session's kernel. */
  get linux(): LinuxKernel {
    if (!this.symbols.dwarf) throw new KdiveError(`${this.symbols.vmlinuxPath} has no DWARF: kernel awareness needs struct layouts`);
    this.engine ??= new ExpressionEngine(this.symbols.dwarf, sessionEngineSymbols(this.symbols));
    const names = sessionEngineSymbols(this.symbols);
    this.linuxKernel ??= new LinuxKernel({
      read: (a, n) => this.target.readMemory(a, n),
      symbol: (name) => names.addressOf(name),
      types: new KernelTypes(this.symbols.dwarf, this.engine.types),
    });
    return this.linuxKernel;
  }

  /** The per-CPU area of a CPU: `__per_cpu_offset[cpu]`. */
  perCpuOffset(cpu: number): Promise<bigint> {
    return perCpuOffset(this.linux.view, cpu);
  }

  /** The task running on a stopped CPU (`current`). */
  async currentTask(threadId?: string): Promise<bigint> {
    const regs = await this.registers(threadId);
    return currentTask(this.linux.view, { gs_base: regs.get('gs_base'), k_gs_base: regs.get('k_gs_base'), cs: regs.get('cs') });
  }

  readMemory(address: bigint, length: number): Promise<Buffer> {
    return this.target.readMemory(address, length);
  }

  /** Ends everything: our breakpoints out of the guest, the connection, QEMU and its run folder. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (!this.exited) {
        // Our breakpoints leave the guest: an attached kernel runs on without them, and a booted
        // one is killed right after (removing them first still matters for a shared stub).
        await Promise.race([this.target.detach().catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]);
      }
    } finally {
      this.target.close();
      await this.vm?.kill();
      await this.symbols.close();
      this.cleanup();
    }
  }

  private async finishExit(): Promise<SessionEvent> {
    // An attached session has no QEMU of its own to wait for: the stub's exit is the end.
    const status = this.vm ? await this.vm.exited : { code: null };
    this.exited = { kind: 'exit', guestStatus: parseGuestExit(this.consoleText?.() ?? this.vm?.consoleText() ?? ''), qemuExitCode: status.code };
    return this.exited;
  }
}

