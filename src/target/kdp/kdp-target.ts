import type {
  BreakpointKind, DetachResult, RegisterDescription, RegisterValues, StopEvent, Target, ThreadInfo, WatchKind,
} from '../target.js';
import { TargetError, TargetTimeoutError } from '../target-error.js';
import { GPacketValues } from '../gdb-remote/register-values.js';
import { KdpConnection } from './kdp-connection.js';
import {
  EXC_ARITHMETIC, EXC_BAD_ACCESS, EXC_BAD_INSTRUCTION, EXC_BREAKPOINT, KDP_MAX_DATA, KDP_REMOTE_PORT,
  KdpErrorCode, KdpRequest, X86_THREAD_STATE64, breakpoint64Body, connectBody, kdpErrorText,
  readMem64Body, readRegsBody, reattachBody, u32Body, writeMem64Body, writeRegsBody, type KdpExceptionInfo,
} from './kdp-packet.js';
import { RFLAGS_TF, X86_THREAD_STATE64_LAYOUT, X86_THREAD_STATE64_SIZE } from './x86-thread-state.js';

export interface KdpConnectOptions {
  host?: string;
  port?: number;
  /** Per try; each request is tried 3 times (as LLDB does). */
  timeoutMs?: number;
  log?: (line: string) => void;
  /**
   * How to stop a running kernel. KDP itself cannot (§3.4): the kernel must take an NMI
   * (boot-args debug=0x4), e.g. QMP inject-nmi when it runs under QEMU.
   */
  breakIn?: () => Promise<void>;
  greeting?: string;
  /** How long a single step may take before it is reported as lost (30 s). */
  stepTimeoutMs?: number;
}

/** CPU_TYPE_X86_64: CPU_TYPE_X86 (7) | CPU_ARCH_ABI64. */
const CPU_TYPE_X86_64 = 0x01000007;
/** The one thread KDP shows: the CPU that entered the debugger (READREGS ignores its cpu argument). */
const TRAPPED_CPU = '1';
const SIGNAL_OF_EXCEPTION = new Map<number, number>([[EXC_BREAKPOINT, 5], [EXC_BAD_ACCESS, 11], [EXC_BAD_INSTRUCTION, 4], [EXC_ARITHMETIC, 8]]);

/** What the target said of itself at connect time. */
export interface KdpHostInfo {
  version: number;
  /** VERSION's feature bit 0: breakpoints through KDP (cleared by boot-args DB_KDP_BP_DIS). */
  breakpoints: boolean;
  cpuMask: number;
  cpuType: number;
  cpuSubtype: number;
  /** KERNELVERSION's string ("Darwin Kernel Version ...; root:xnu-..."). */
  kernelVersion: string;
  /** `UUID=` in the version string, when the kernel puts it there (LLDB looks for it). */
  uuid?: string;
  /** `stext=0x...` in the version string: the kernel's load address. */
  loadAddress?: bigint;
  maxBytes: number;
}

/**
 * A Target over Apple's KDP (XNU's kernel debugger protocol, UDP port 41139), x86-64: the
 * registers of the CPU that trapped (x86_THREAD_STATE64), 64-bit memory reads and writes in
 * chunks of at most 1024 bytes, int3 breakpoints the target inserts itself, single steps through
 * RFLAGS.TF. KDP has no watchpoints, no monitor, and cannot stop a running kernel.
 */
export class KdpTarget implements Target {
  readonly stubName = 'kdp';
  readonly registerLayout: readonly RegisterDescription[] = X86_THREAD_STATE64_LAYOUT;
  /** x86 reports rip past the int3 (xnu leaves the rewind to the debugger, as LLDB does it). */
  readonly breakpointPcOffset = 1;
  /** WRITEREGS ignores cs. */
  readonly readOnlyRegisters: readonly string[] = ['cs'];
  readonly stepsOverBreakpointsInPlace = false;
  private state: Buffer | undefined;
  private isRunning = false;
  private readonly stops: StopEvent[] = [];
  private readonly waiters: { resolve: (e: StopEvent) => void; reject: (e: Error) => void }[] = [];
  /** Our breakpoints and the byte each int3 covers: reads show the kernel's code, not our int3 (as gdb's shadows). */
  private readonly inserted = new Map<bigint, number>();
  private closed = false;
  /** The stop the kernel was in when we connected: it waits in the debugger. */
  readonly initialStop: StopEvent = { reason: 'interrupt', signal: 2, threadId: TRAPPED_CPU, raw: 'KDP: the kernel waits in the debugger' };

  private constructor(private readonly conn: KdpConnection, readonly info: KdpHostInfo, private readonly opts: KdpConnectOptions) {
    conn.setExceptionListener((infos) => this.exception(infos));
  }

  /** The LLDB sequence (§3.4): REATTACH, CONNECT with seq 0, VERSION, HOSTINFO, KERNELVERSION, MAXBYTES. */
  static async connect(opts: KdpConnectOptions = {}): Promise<KdpTarget> {
    const host = opts.host ?? '127.0.0.1';
    const port = opts.port ?? KDP_REMOTE_PORT;
    const conn = await KdpConnection.open(host, port, { timeoutMs: opts.timeoutMs, log: opts.log });
    try {
      // A target still bound to a debugger that went away takes REATTACH and waits for CONNECT;
      // one waiting already may answer or not: either way CONNECT follows.
      await conn.request(KdpRequest.REATTACH, reattachBody(conn.localPort), { tries: 1, timeoutMs: Math.min(opts.timeoutMs ?? 1000, 300) }).catch((e: Error) => opts.log?.(`REATTACH: ${e.message}`));
      conn.resetSequence();
      const connected = await conn.request(KdpRequest.CONNECT, connectBody(conn.localPort, conn.localPort, opts.greeting ?? 'kdive here'));
      const err = u32At(connected, 0, 'CONNECT');
      if (err === KdpErrorCode.ALREADY_CONNECTED) throw new TargetError(`${conn.name}: ${kdpErrorText(err)}; disconnect it first`);
      if (err !== 0) throw new TargetError(`${conn.name}: CONNECT refused: ${kdpErrorText(err)}`);
      const version = await conn.request(KdpRequest.VERSION);
      const host_ = await conn.request(KdpRequest.HOSTINFO);
      const cpuType = u32At(host_, 4, 'HOSTINFO');
      if (cpuType !== CPU_TYPE_X86_64) throw new TargetError(`${conn.name}: the kernel runs on CPU type 0x${cpuType.toString(16)}; kdive's KDP backend knows x86-64 (0x1000007) only`);
      const versionText = cstring(await conn.request(KdpRequest.KERNELVERSION));
      const maxBytes = u32At(await conn.request(KdpRequest.MAXBYTES), 0, 'MAXBYTES');
      const stext = /stext=(0x[0-9a-fA-F]+)/.exec(versionText)?.[1];
      const info: KdpHostInfo = {
        version: u32At(version, 0, 'VERSION'),
        breakpoints: (u32At(version, 4, 'VERSION') & 1) === 1,
        cpuMask: u32At(host_, 0, 'HOSTINFO'),
        cpuType,
        cpuSubtype: u32At(host_, 8, 'HOSTINFO'),
        kernelVersion: versionText,
        uuid: /UUID=([0-9A-Fa-f-]{36})/.exec(versionText)?.[1],
        loadAddress: stext ? BigInt(stext) : undefined,
        maxBytes: Math.max(1, Math.min(maxBytes || KDP_MAX_DATA, KDP_MAX_DATA)),
      };
      return new KdpTarget(conn, info, opts);
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  get running(): boolean {
    return this.isRunning;
  }

  async readRegisters(threadId?: string): Promise<RegisterValues> {
    this.checkThread(threadId);
    return new GPacketValues(this.registerLayout, await this.readState());
  }

  async writeRegister(name: string, value: bigint, threadId?: string): Promise<void> {
    this.checkThread(threadId);
    const reg = this.registerLayout.find((r) => r.name === name);
    if (!reg) throw new TargetError(`no register named ${name} over KDP (x86_THREAD_STATE64 has rax..r15, rip, eflags, cs, fs, gs)`);
    if (this.readOnlyRegisters.includes(name)) throw new TargetError(`KDP cannot change ${name} (WRITEREGS ignores it)`);
    const state = Buffer.from(await this.readState());
    state.writeBigUInt64LE(BigInt.asUintN(64, value), reg.offset);
    await this.writeState(state);
  }

  async rewindPc(pc: bigint, threadId?: string): Promise<void> {
    await this.writeRegister('rip', pc, threadId);
  }

  async readMemory(address: bigint, length: number): Promise<Buffer> {
    this.checkStopped('read memory');
    const out = Buffer.alloc(length);
    for (let done = 0; done < length;) {
      const at = BigInt.asUintN(64, address + BigInt(done));
      const n = Math.min(this.info.maxBytes, length - done);
      const reply = await this.conn.request(KdpRequest.READMEM64, readMem64Body(at, n));
      const err = u32At(reply, 0, 'READMEM64');
      const data = reply.subarray(4);
      if (data.length > n) throw new TargetError(`bad reply to a memory read at 0x${at.toString(16)}: ${data.length} bytes for ${n}`);
      data.copy(out, done);
      if (err !== 0 || data.length < n) {
        const bad = BigInt.asUintN(64, at + BigInt(data.length));
        throw new TargetError(`cannot read ${length} bytes of memory at 0x${address.toString(16)}: 0x${bad.toString(16)} is not accessible (${kdpErrorText(err || KdpErrorCode.BAD_ACCESS)})`);
      }
      done += n;
    }
    for (const [at, byte] of this.inserted) {
      const i = at - address;
      if (i >= 0n && i < BigInt(length) && out[Number(i)] === 0xcc) out[Number(i)] = byte;
    }
    return out;
  }

  async writeMemory(address: bigint, data: Buffer): Promise<void> {
    this.checkStopped('write memory');
    for (let done = 0; done < data.length;) {
      const at = BigInt.asUintN(64, address + BigInt(done));
      const n = Math.min(this.info.maxBytes, data.length - done);
      const err = u32At(await this.conn.request(KdpRequest.WRITEMEM64, writeMem64Body(at, data.subarray(done, done + n))), 0, 'WRITEMEM64');
      if (err !== 0) throw new TargetError(`cannot write ${n} bytes of memory at 0x${at.toString(16)}: ${kdpErrorText(err)}`);
      done += n;
    }
  }

  async insertBreakpoint(address: bigint, kind: BreakpointKind): Promise<void> {
    this.checkStopped('insert a breakpoint');
    if (kind !== 'software') throw new TargetError('KDP has no hardware breakpoints (the target inserts int3 itself)');
    if (!this.info.breakpoints) throw new TargetError(`${this.conn.name}: the kernel's boot-args turn KDP breakpoints off (debug= has DB_KDP_BP_DIS, 0x80)`);
    if (this.inserted.has(address)) return;
    const [original] = await this.readMemory(address, 1);
    await this.setBreakpoint(address, original!);
  }

  /** BREAKPOINT64_SET, with the byte the int3 covers already known. */
  private async setBreakpoint(address: bigint, original: number): Promise<void> {
    const err = u32At(await this.conn.request(KdpRequest.BREAKPOINT64_SET, breakpoint64Body(address)), 0, 'BREAKPOINT64_SET');
    if (err !== 0) throw new TargetError(`cannot insert a breakpoint at 0x${address.toString(16)}: ${kdpErrorText(err)}`);
    this.inserted.set(address, original);
  }

  async removeBreakpoint(address: bigint, kind: BreakpointKind): Promise<void> {
    this.checkStopped('remove a breakpoint');
    if (kind !== 'software') throw new TargetError('KDP has no hardware breakpoints');
    const err = u32At(await this.conn.request(KdpRequest.BREAKPOINT64_REMOVE, breakpoint64Body(address)), 0, 'BREAKPOINT64_REMOVE');
    this.inserted.delete(address);
    if (err !== 0 && err !== KdpErrorCode.BREAKPOINT_NOT_FOUND) throw new TargetError(`cannot remove the breakpoint at 0x${address.toString(16)}: ${kdpErrorText(err)}`);
  }

  async insertWatchpoint(): Promise<void> {
    throw new TargetError('KDP has no watchpoints');
  }

  async removeWatchpoint(_address: bigint, _length: number, _kind: WatchKind): Promise<void> {
    throw new TargetError('KDP has no watchpoints');
  }

  async resume(options: { pc?: bigint } = {}): Promise<void> {
    if (options.pc !== undefined) await this.writeRegister('rip', options.pc);
    await this.resumeCpus();
  }

  async resumeOverBreakpoint(address: bigint, kind: BreakpointKind, threadId?: string): Promise<StopEvent | undefined> {
    const original = this.inserted.get(address);
    await this.removeBreakpoint(address, kind);
    const step = await this.step(threadId);
    // Back in with the byte it covered remembered: no read of it again at every hit.
    if (original === undefined) await this.insertBreakpoint(address, kind);
    else await this.setBreakpoint(address, original);
    if (step.reason !== 'trap') return step;
    await this.resumeCpus();
    return undefined;
  }

  async step(threadId?: string): Promise<StopEvent> {
    this.checkThread(threadId);
    const state = Buffer.from(await this.readState());
    const flagsAt = this.offsetOf('eflags');
    const flags = state.readBigUInt64LE(flagsAt);
    state.writeBigUInt64LE(flags | RFLAGS_TF, flagsAt);
    await this.writeState(state);
    await this.resumeCpus();
    // One instruction traps at once; a kernel that never comes back is reported, not waited for.
    const ms = this.opts.stepTimeoutMs ?? 30_000;
    const stop = await this.waitForStop(AbortSignal.timeout(ms)).catch((err: Error) => {
      throw err.name === 'TimeoutError' ? new TargetTimeoutError(`${this.conn.name}: single step (the kernel did not trap again)`, ms) : err;
    });
    // The trap leaves TF in the saved flags: clear it, or the next resume steps again.
    const after = Buffer.from(await this.readState());
    if ((after.readBigUInt64LE(flagsAt) & RFLAGS_TF) !== 0n && (flags & RFLAGS_TF) === 0n) {
      after.writeBigUInt64LE(after.readBigUInt64LE(flagsAt) & ~RFLAGS_TF, flagsAt);
      await this.writeState(after);
    }
    return stop;
  }

  async requestStop(): Promise<void> {
    if (!this.opts.breakIn) {
      throw new TargetError('KDP cannot stop a running kernel: it needs an NMI (boot-args debug=0x4; under QEMU, QMP inject-nmi) or a breakpoint');
    }
    await this.opts.breakIn();
  }

  async interrupt(): Promise<StopEvent> {
    await this.requestStop();
    const ms = (this.opts.timeoutMs ?? 1000) * 3;
    const timer = new AbortController();
    const t = setTimeout(() => timer.abort(new TargetTimeoutError(`${this.conn.name}: interrupt (no EXCEPTION after the break-in)`, ms)), ms);
    try {
      return await this.waitForStop(timer.signal);
    } finally {
      clearTimeout(t);
    }
  }

  forgetState(): void {
    this.state = undefined;
  }

  waitForStop(signal?: AbortSignal): Promise<StopEvent> {
    const queued = this.stops.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closed) return Promise.reject(new TargetError(`${this.conn.name}: connection closed`));
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal.reason instanceof Error ? signal.reason : new TargetError('wait for stop aborted'));
      }, { once: true });
    });
  }

  async threads(): Promise<ThreadInfo[]> {
    return [{ id: TRAPPED_CPU, description: 'the CPU that entered the debugger (KDP shows no other)' }];
  }

  async selectThread(threadId: string): Promise<void> {
    this.checkThread(threadId);
  }

  async monitor(command: string): Promise<string> {
    if (command.trim() === 'version') return `${this.info.kernelVersion}\n`;
    throw new TargetError(`KDP has no monitor commands (kdive answers "monitor version" from KERNELVERSION): ${command}`);
  }

  async detach(): Promise<DetachResult> {
    if (this.closed) throw new TargetError(`${this.conn.name}: not connected, nothing to detach from`);
    try {
      if (!this.isRunning) {
        for (const address of [...this.inserted.keys()]) await this.removeBreakpoint(address, 'software');
      }
      // DISCONNECT resumes the kernel and drops any breakpoint still in (xnu removes them all), so
      // none is left; its acknowledgement is the confirmation (request() throws when none comes).
      await this.conn.request(KdpRequest.DISCONNECT);
    } finally {
      this.close();
    }
    return { leftInserted: [] };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.conn.close();
    const err = new TargetError(`${this.conn.name}: connection closed`);
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  private exception(infos: KdpExceptionInfo[]): void {
    const e = infos[0]!;
    this.isRunning = false;
    this.state = undefined;
    const signal = SIGNAL_OF_EXCEPTION.get(e.exception) ?? 5;
    const stop: StopEvent = {
      reason: e.exception === EXC_BREAKPOINT ? 'trap' : 'signal',
      signal,
      threadId: TRAPPED_CPU,
      raw: `EXCEPTION cpu ${e.cpu} exception ${e.exception} code ${e.code} subcode ${e.subcode}`,
    };
    const w = this.waiters.shift();
    if (w) w.resolve(stop);
    else this.stops.push(stop);
  }

  private async resumeCpus(): Promise<void> {
    this.checkStopped('resume');
    this.state = undefined;
    // The reply comes before the kernel runs; an EXCEPTION may follow at once.
    this.isRunning = true;
    try {
      await this.conn.request(KdpRequest.RESUMECPUS, u32Body(this.info.cpuMask || 0xffffffff));
    } catch (err) {
      this.isRunning = false;
      throw err;
    }
  }

  private async readState(): Promise<Buffer> {
    this.checkStopped('read registers');
    if (this.state) return this.state;
    const reply = await this.conn.request(KdpRequest.READREGS, readRegsBody(0, X86_THREAD_STATE64));
    const err = u32At(reply, 0, 'READREGS');
    if (err !== 0) throw new TargetError(`${this.conn.name}: cannot read registers: ${kdpErrorText(err)}`);
    if (reply.length - 4 < X86_THREAD_STATE64_SIZE) throw new TargetError(`${this.conn.name}: READREGS returned ${reply.length - 4} bytes of state, x86_THREAD_STATE64 has ${X86_THREAD_STATE64_SIZE}`);
    this.state = Buffer.from(reply.subarray(4, 4 + X86_THREAD_STATE64_SIZE));
    return this.state;
  }

  private async writeState(state: Buffer): Promise<void> {
    const err = u32At(await this.conn.request(KdpRequest.WRITEREGS, writeRegsBody(0, X86_THREAD_STATE64, state)), 0, 'WRITEREGS');
    if (err !== 0) throw new TargetError(`${this.conn.name}: cannot write registers: ${kdpErrorText(err)}`);
    this.state = state;
  }

  private offsetOf(name: string): number {
    return this.registerLayout.find((r) => r.name === name)!.offset;
  }

  private checkThread(threadId: string | undefined): void {
    if (threadId !== undefined && threadId !== TRAPPED_CPU) throw new TargetError(`KDP shows only the CPU that trapped (thread ${TRAPPED_CPU}), not thread ${threadId}`);
  }

  private checkStopped(what: string): void {
    if (this.closed) throw new TargetError(`${this.conn.name}: cannot ${what}: connection closed`);
    if (this.isRunning) throw new TargetError(`cannot ${what} while the kernel runs: KDP answers only while the kernel waits in the debugger`);
  }
}

function u32At(body: Buffer, offset: number, what: string): number {
  if (body.length < offset + 4) throw new TargetError(`KDP ${what} reply is ${body.length} bytes, too short for its fields`);
  return body.readUInt32LE(offset);
}

function cstring(body: Buffer): string {
  const end = body.indexOf(0);
  return body.subarray(0, end < 0 ? body.length : end).toString('latin1');
}
