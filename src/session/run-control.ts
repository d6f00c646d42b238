import type { Arch } from '../arch/arch.js';
import type { EmulatedInstruction } from '../arch/x86_64/entry-instruction.js';
import { X86_64 } from '../arch/x86_64/x86-64-arch.js';
import type { BreakpointKind, StopEvent, Target } from '../target/target.js';
import { believablePc } from './believable-pc.js';
import type { Breakpoint, BreakpointTable } from './breakpoints.js';
import { cpuOfThread } from './thread-cpu.js';

/** What one resume or step ended with, before the session applies conditions and ignore counts. */
export type RawStop =
  | { kind: 'breakpoint'; breakpoints: Breakpoint[]; internal: boolean; threadId: string; cpu: number; pc: bigint }
  | { kind: 'watchpoint'; watchpoints: Breakpoint[]; address: bigint; threadId: string; cpu: number; pc: bigint }
  | { kind: 'stop'; reason: StopEvent['reason']; signal?: number; threadId: string; cpu: number; pc: bigint }
  | { kind: 'gone' };

/**
 * Moves the target: what is inserted where, resuming past a breakpoint the CPU sits on, single
 * steps. User breakpoints (the table) and the session's own short-lived ones (`finish`, `next`
 * over a call) share one set of inserted addresses, so neither removes the other's.
 */
export class RunControl {
  /** How many times going on from a breakpoint applied its instruction instead of stepping it (diagnostics, tests). */
  emulatedCount = 0;
  /** Counts the target's moves (resumes, steps, snapshot loads): what was read at one stop is stale after. */
  stopCount = 0;
  /** Where the last stop left the reporting CPU. */
  lastStop: { threadId: string; pc: bigint } | undefined;
  private readonly inserted = new Map<bigint, BreakpointKind>();
  private readonly internal = new Map<bigint, number>();
  /** The instruction under each inserted breakpoint, when kdive can apply it itself; forgotten on removal (the code may change). */
  private readonly emulated = new Map<bigint, EmulatedInstruction | undefined>();

  constructor(
    private readonly target: Target,
    private readonly breakpoints: BreakpointTable,
    private readonly arch: Arch = X86_64,
  ) {}

  /** Inserts or removes the breakpoint at an address so the target holds exactly what is needed. */
  async sync(address: bigint, kind: BreakpointKind = 'software'): Promise<void> {
    const users = this.breakpoints.at(address).filter((b) => !b.watch);
    const needed = users.length > 0 || (this.internal.get(address) ?? 0) > 0;
    const have = this.inserted.get(address);
    if (needed && have === undefined) {
      const k = users[0]?.kind ?? kind;
      await this.target.insertBreakpoint(address, k);
      this.inserted.set(address, k);
    } else if (!needed && have !== undefined) {
      this.inserted.delete(address);
      this.emulated.delete(address);
      await this.target.removeBreakpoint(address, have);
    }
  }

  /** The CPUs are no longer where the last stop left them (a snapshot was loaded). */
  forgetStop(): void {
    this.stopCount++;
    this.lastStop = undefined;
  }

  async addInternal(address: bigint): Promise<void> {
    this.internal.set(address, (this.internal.get(address) ?? 0) + 1);
    await this.sync(address);
  }

  async removeInternal(address: bigint): Promise<void> {
    const n = (this.internal.get(address) ?? 1) - 1;
    if (n > 0) this.internal.set(address, n);
    else this.internal.delete(address);
    // The target refused or is gone: the target keeps its own record of what is inserted, and
    // detach (at close too) takes it out again and reports what would not come out.
    await this.sync(address).catch(() => undefined);
  }

  isInserted(address: bigint): boolean {
    return this.inserted.has(address);
  }

  /** Resumes every CPU (past a breakpoint the last CPU sits on) and waits for the next stop. */
  async continueOnce(signal?: AbortSignal): Promise<RawStop> {
    this.stopCount++;
    const last = this.lastStop;
    this.lastStop = undefined;
    const kind = last ? this.inserted.get(last.pc) : undefined;
    if (last && kind !== undefined) {
      const insn = await this.emulationAt(last.pc);
      if (insn !== undefined && (await this.apply(insn, last.threadId))) {
        // The breakpoint sits on an instruction kdive applied itself (ftrace's NOP, a prologue's push
        // or mov): going past it is moving rip, with no single step, which would make QEMU drop its
        // translated code and costs kgdb a stop and four round trips.
        this.emulatedCount++;
        await this.target.resume({ pc: last.pc + BigInt(insn.length) });
      } else if (this.inserted.size === 1) {
        // Our only breakpoint: step past it and go on, in as few round trips as the stub allows.
        const early = await this.target.resumeOverBreakpoint(last.pc, kind, last.threadId);
        if (early) return this.describe(early, false);
      } else {
        // Other breakpoints exist: the step may land on one of them, so look where it went.
        const after = await this.stepOnce(last);
        if (after.kind !== 'stop' || after.reason !== 'trap') return after;
        if (this.inserted.has(after.pc)) {
          // Landed on another breakpoint: that is a hit (resuming would run over it).
          return { kind: 'breakpoint', breakpoints: this.breakpoints.at(after.pc).filter((b) => !b.watch), internal: this.internal.has(after.pc), threadId: after.threadId, cpu: after.cpu, pc: after.pc };
        }
        this.lastStop = undefined;
        await this.target.resume();
      }
    } else {
      await this.target.resume();
    }
    return this.describe(await this.target.waitForStop(signal), false);
  }

  /** The instruction at a breakpoint address, decoded once per insertion (one round trip less per hit). */
  private async emulationAt(address: bigint): Promise<EmulatedInstruction | undefined> {
    if (this.emulated.has(address)) return this.emulated.get(address);
    // Code that cannot be read is not applied: the breakpoint is then stepped over as usual.
    const insn = this.arch.decodeEmulated(await this.target.readMemory(address, 16).catch(() => Buffer.alloc(0)));
    this.emulated.set(address, insn);
    return insn;
  }

  /**
   * Does what the instruction would have done to registers and stack; false (nothing changed) when
   * the stack cannot be written, and the instruction is then stepped. The stack below rsp is free:
   * the kernel has no red zone, and kgdb's int3 entry leaves a gap there for exactly this.
   */
  private async apply(insn: EmulatedInstruction, threadId: string): Promise<boolean> {
    if (insn.effect === 'none') return true;
    const regs = await this.target.readRegisters(threadId);
    const readOnly = this.target.readOnlyRegisters ?? [];
    if (insn.effect === 'push') {
      if (readOnly.includes(this.arch.sp)) return false;
      const rsp = regs.get(this.arch.sp);
      const value = regs.get(insn.register);
      if (rsp === undefined || value === undefined) return false;
      const slot = BigInt.asUintN(64, rsp - 8n);
      const bytes = Buffer.alloc(8);
      bytes.writeBigUInt64LE(value);
      try {
        await this.target.writeMemory(slot, bytes);
      } catch {
        return false;
      }
      await this.target.writeRegister(this.arch.sp, slot, threadId);
      return true;
    }
    const value = regs.get(insn.from);
    if (value === undefined || readOnly.includes(insn.to)) return false;
    await this.target.writeRegister(insn.to, insn.bits === 32 ? value & 0xffffffffn : value, threadId);
    return true;
  }

  /** One instruction on one CPU; a breakpoint under it is stepped over, not hit again. */
  async step(threadId?: string): Promise<RawStop> {
    this.stopCount++;
    const last = this.lastStop;
    this.lastStop = undefined;
    return this.stepOnce(last && (!threadId || threadId === last.threadId) ? last : undefined, threadId);
  }

  private async stepOnce(at: { threadId: string; pc: bigint } | undefined, threadId = at?.threadId): Promise<RawStop> {
    const kind = at ? this.inserted.get(at.pc) : undefined;
    if (at && kind !== undefined && !this.target.stepsOverBreakpointsInPlace) {
      await this.target.removeBreakpoint(at.pc, kind);
      let stop: StopEvent;
      try {
        stop = await this.target.step(threadId);
      } finally {
        await this.target.insertBreakpoint(at.pc, kind);
      }
      return this.describe(stop, true);
    }
    return this.describe(await this.target.step(threadId), true);
  }

  /** Turns a stub's stop into what the session reasons about; a step landing on a breakpoint is not a hit. */
  async describe(stop: StopEvent, stepping: boolean): Promise<RawStop> {
    if (stop.reason === 'exited' || stop.reason === 'terminated') return { kind: 'gone' };
    const threadId = stop.threadId ?? this.lastStop?.threadId ?? '01';
    const regs = await this.target.readRegisters(threadId);
    let pc = believablePc(regs, this.arch, threadId);
    const offset = BigInt(this.target.breakpointPcOffset ?? 0);
    if (offset && stop.reason === 'trap' && !stepping && this.inserted.get(pc - offset) === 'software') {
      // The stub stopped after our int3 (kgdb): back to the breakpoint, as gdb does, so the
      // instruction under it runs when we go on.
      pc -= offset;
      await (this.target.rewindPc ? this.target.rewindPc(pc, threadId) : this.target.writeRegister(this.arch.pc, pc, threadId));
    }
    this.lastStop = { threadId, pc };
    // QEMU's threads are vCPUs; kgdb's are tasks, and its test VMs have one CPU.
    const cpu = this.target.threadsAreCpus ? cpuOfThread(threadId) : 0;
    if (stop.reason === 'watchpoint' && stop.watch) {
      const address = stop.watch.address;
      const hit = this.breakpoints.all().filter((b) => b.enabled && b.watch && address >= b.address && address < b.address + BigInt(b.watch.length));
      return { kind: 'watchpoint', watchpoints: hit, address, threadId, cpu, pc };
    }
    if (stop.reason === 'trap' && !stepping && this.inserted.has(pc)) {
      return { kind: 'breakpoint', breakpoints: this.breakpoints.at(pc).filter((b) => !b.watch), internal: this.internal.has(pc), threadId, cpu, pc };
    }
    return { kind: 'stop', reason: stop.reason, signal: stop.signal, threadId, cpu, pc };
  }
}
