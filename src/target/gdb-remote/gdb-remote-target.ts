import type { Duplex } from 'node:stream';
import type { DirectMemory,
  DetachResult,
  BreakpointKind, RegisterDescription, RegisterValues, StopEvent, Target, ThreadInfo, WatchKind,
} from '../target.js';
import { TargetError, TargetTimeoutError } from '../target-error.js';
import { decodeHex, encodeHex } from './packet-codec.js';
import { GPacketValues } from './register-values.js';
import { RspConnection } from './rsp-connection.js';
import { parseStopReply } from './stop-reply.js';
import { parseQxferReply, parseThreadListReply } from './list-replies.js';
import { detectProfile, profileFor, type StubProfile } from './stub-profile.js';
import { readTargetDescription } from './target-description.js';

export interface GdbRemoteConnectOptions {
  profile?: 'auto' | 'qemu' | 'kgdb' | 'generic';
  timeoutMs?: number;
  log?: (line: string) => void;
  name?: string;
  /** How to stop a running target when a 0x03 byte does not (kgdb: telnet BREAK + 'g'). */
  breakIn?: () => Promise<void>;
}

/**
 * Replies that answer some other request (a write, an insert, a thread select; `qC`): received for
 * a `g`, `p`, `m` or `T`, they mean the stub sent a reply nobody asked for and is out of step.
 * (A reply that is merely malformed, bad hex, is not a stray: it is reported as it is.)
 */
const STRAY_REPLY = /^(?:OK|QC.*)$/;

const Z_TYPE: Record<BreakpointKind | WatchKind, number> = { software: 0, hardware: 1, write: 2, read: 3, access: 4 };

/**
 * A Target over the GDB Remote Serial Protocol: QEMU's gdbstub, Linux kgdb, VMware's stub,
 * any gdbserver. Quirks come from the StubProfile, not from conditionals spread around.
 */
export class GdbRemoteTarget implements Target {
  private registerCache = new Map<string, GPacketValues>();
  directMemory?: DirectMemory;
  /** A pc rewound at the last stop and not yet sent: the next `c ADDR`/`s ADDR` (or a `P` before detach) carries it. */
  private pendingPc: { tid: string; pc: bigint } | undefined;
  private currentThread: string | undefined;
  private readonly inserted = new Map<string, { type: number; address: bigint; kind: number }>();
  private isRunning = false;
  /** Whether the stub takes binary `X` writes: unknown until the first write probes it. */
  private binaryWrites: boolean | undefined;

  private constructor(
    private readonly conn: RspConnection,
    readonly profile: StubProfile,
    private layout: RegisterDescription[],
    private readonly opts: GdbRemoteConnectOptions,
  ) {}

  get stubName(): string {
    return this.profile.name;
  }

  get threadsAreCpus(): boolean {
    return this.profile.threadsAreCpus ?? false;
  }

  get registerLayout(): readonly RegisterDescription[] {
    return this.layout;
  }

  get running(): boolean {
    return this.isRunning;
  }

  /** The stop the target was in when we attached (the `?` reply). */
  initialStop: StopEvent | undefined;

  /** Whether a step from a breakpoint's address may leave the breakpoint in (QEMU under TCG). */
  stepsOverBreakpointsInPlace = false;

  get readOnlyRegisters(): readonly string[] {
    return this.profile.readOnlyRegisters ?? [];
  }

  /** The stub runs the target backwards (bc/bs: QEMU with -icount record/replay). */
  reverseExecution = false;

  get breakpointPcOffset(): number {
    return this.profile.breakpointPcOffset ?? 0;
  }

  static async connect(stream: Duplex, opts: GdbRemoteConnectOptions = {}): Promise<GdbRemoteTarget> {
    const conn = new RspConnection(stream, { timeoutMs: opts.timeoutMs, log: opts.log, name: opts.name });
    try {
      const supported = await conn.request('qSupported:swbreak+;hwbreak+;xmlRegisters=i386');
      const profile = !opts.profile || opts.profile === 'auto' ? detectProfile(supported) : profileFor(opts.profile, supported);
      conn.sendAcks = profile.sendAcks;
      // QEMU 7.2 announces a stop to every new client before it asks anything: not a real event.
      conn.drainStops();
      let layout = profile.builtinLayout ?? [];
      if (profile.usesTargetXml) layout = (await readTargetDescription((annex) => readFeature(conn, annex))).registers;
      if (layout.length === 0) throw new TargetError(`${conn.name}: the stub described no registers`);
      const target = new GdbRemoteTarget(conn, profile, layout, opts);
      // `?` also clears QEMU's breakpoints: exactly what a fresh attach wants, and only then.
      target.initialStop = parseStopReply(await conn.request('?', { wantsStop: true }));
      target.currentThread = target.initialStop.threadId;
      if (target.currentThread) target.knownThreads.add(target.currentThread);
      target.reverseExecution = /ReverseContinue\+/.test(supported) && /ReverseStep\+/.test(supported);
      if (profile.qemuMonitor) {
        // Under TCG, QEMU (7.1+) single-steps over its own breakpoints ("singlestep overrides
        // breakpoints") and never writes them into guest memory, so a breakpoint can stay in while
        // a CPU steps off it: no z/Z per hit, and no translated-code flush each time. KVM writes 0xCC.
        // A stub that does not pass monitor commands through (no HMP): unknown, so take the safe
        // side, as under KVM (remove the breakpoint to step off it).
        // Within the connection's timeout: a stub that does not answer this probe must not hold the attach for 30 s.
        const kvm = await target.monitor('info kvm', conn.timeoutMs).catch(() => '');
        target.stepsOverBreakpointsInPlace = /kvm support: disabled/.test(kvm);
      }
      return target;
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  async readRegisters(threadId?: string): Promise<RegisterValues> {
    // An all-stop stub answers nothing until the target stops: say so rather than wait.
    // (A connection that is gone says so itself, below: that is the truth, not "running".)
    if (this.isRunning && !this.conn.closed) throw new TargetError('the kernel is running: registers are read at a stop (interrupt it first)');
    const tid = threadId ?? this.currentThread ?? '';
    const cached = this.registerCache.get(tid);
    if (cached) return cached;
    if (threadId && threadId !== this.currentThread) await this.selectThread(threadId);
    const reply = await this.ask('g');
    this.checkError(reply, 'read registers');
    // Sized by its hex: an odd digit or an `xx` (unavailable) spoils one register, not the reply.
    const length = Math.floor(reply.length / 2);
    const expected = layoutSize(this.layout);
    if (length > expected) this.opts.log?.(`g reply is ${length} bytes, ${length - expected} more than the ${this.layout.length}-register target description: surplus ignored`);
    const values = GPacketValues.fromHex(this.layout, reply);
    if (length < expected || values.names().length < this.layout.length) {
      // A short `g`: fetch what is missing one register at a time, where the stub allows it.
      for (const r of this.layout) {
        if (values.has(r.name)) continue;
        const p = await this.ask(`p${r.regnum.toString(16)}`);
        if (p !== '' && !/^E[0-9a-fA-F]{2}$/.test(p) && p.length === Math.ceil(r.bitSize / 8) * 2) values.set(r.name, decodeHex(p));
      }
    }
    if (this.pendingPc?.tid === tid) values.set('rip', le64(this.pendingPc.pc));
    this.registerCache.set(tid, values);
    return values;
  }

  async rewindPc(pc: bigint, threadId?: string): Promise<void> {
    // vCont's step takes no address: those stubs get a `P` at once.
    if (this.profile.vCont) return this.writeRegister('rip', pc, threadId);
    const tid = threadId ?? this.currentThread ?? '';
    this.pendingPc = { tid, pc };
    this.registerCache.get(tid)?.set('rip', le64(pc));
  }

  /** The pending pc, taken: it goes out with the packet being sent. */
  private takePendingPc(): bigint | undefined {
    const pc = this.pendingPc?.pc;
    this.pendingPc = undefined;
    return pc;
  }

  async writeRegister(name: string, value: bigint, threadId?: string): Promise<void> {
    const reg = this.layout.find((r) => r.name === name);
    if (!reg) throw new TargetError(`no register named ${name} on this stub (${this.profile.name})`);
    if (this.profile.readOnlyRegisters?.includes(name)) throw new TargetError(`${this.profile.name} cannot change ${name} (it answers OK and keeps the old value)`);
    if (threadId && threadId !== this.currentThread) await this.selectThread(threadId);
    const bytes = Buffer.alloc(Math.ceil(reg.bitSize / 8));
    let v = BigInt.asUintN(reg.bitSize, value);
    for (let i = 0; i < bytes.length; i++, v >>= 8n) bytes[i] = Number(v & 0xffn);
    const reply = await this.conn.request(`P${reg.regnum.toString(16)}=${encodeHex(bytes)}`);
    this.checkOk(reply, `write register ${name}`);
    if (name === 'rip') this.pendingPc = undefined;
    // The written thread's cached registers stay good with the new value in: a hit that rewinds
    // rip (kgdb) then reads its arguments without another `g`.
    const key = threadId ?? this.currentThread ?? '';
    const cached = this.registerCache.get(key);
    if (cached) cached.set(name, bytes);
    else this.registerCache.clear();
  }

  async readMemory(address: bigint, length: number, into?: Buffer): Promise<Buffer> {
    // The VM's own RAM when kdive shares it with QEMU: no packets, and readable while it runs.
    const direct = this.directMemory && (await this.directMemory.read(address, length, this.running, into));
    if (direct) return direct;
    if (this.isRunning && !this.conn.closed) throw new TargetError(`the kernel is running: 0x${address.toString(16)} can be read while it runs only from the RAM kdive shares with a VM it booted (interrupt it first)`);
    const out = into ?? Buffer.alloc(length);
    const max = this.profile.maxMemoryRead;
    const chunks: { at: bigint; offset: number; n: number }[] = [];
    for (let done = 0; done < length; done += max) chunks.push({ at: address + BigInt(done), offset: done, n: Math.min(max, length - done) });
    const packets = chunks.map((c) => `m${c.at.toString(16)},${c.n.toString(16)}`);
    // Small reads go one by one; larger ones keep several requests in flight (the stub answers in order).
    const replies = chunks.length === 1 ? [await this.conn.request(packets[0]!)] : await this.conn.requestMany(packets, this.profile.memoryReadWindow);
    for (const [i, c] of chunks.entries()) {
      // A reply that cannot answer a read (`OK`, a stray) means the stub is out of step: once back in step, that chunk again.
      const reply = STRAY_REPLY.test(replies[i]!) ? await this.askAgain(packets[i]!, replies[i]!) : replies[i]!;
      if (reply === '' || /^E[0-9a-fA-F]{2}$/.test(reply)) {
        throw new TargetError(`cannot read ${c.n} bytes of memory at 0x${c.at.toString(16)}${reply ? ` (stub error ${reply})` : ''}`, reply);
      }
      // The common case: hex straight into the result, no buffer per reply (a bad digit ends
      // the write short, and decodeHex below then names it).
      if (reply.length === c.n * 2 && out.write(reply, c.offset, c.n, 'hex') === c.n) continue;
      let chunk: Buffer;
      try {
        chunk = decodeHex(reply);
      } catch (e) {
        throw new TargetError(`bad reply to a memory read at 0x${c.at.toString(16)}: ${(e as Error).message}`);
      }
      if (chunk.length !== c.n) {
        // A stub may return less than asked: read the rest of this chunk on its own.
        if (chunk.length === 0 || chunk.length > c.n) throw new TargetError(`bad reply to a memory read at 0x${c.at.toString(16)}: ${chunk.length} bytes for ${c.n}`);
        chunk.copy(out, c.offset);
        const rest = await this.readMemory(c.at + BigInt(chunk.length), c.n - chunk.length);
        rest.copy(out, c.offset + chunk.length);
        continue;
      }
      chunk.copy(out, c.offset);
    }
    return out;
  }

  async writeMemory(address: bigint, data: Buffer): Promise<void> {
    if (data.length === 0) return;
    if (this.binaryWrites === undefined) {
      // gdb's probe: a zero-length X. An empty reply means no X (QEMU 7.2); then M, hex-encoded.
      const probe = await this.conn.request(`X${address.toString(16)},0:`);
      this.binaryWrites = probe === 'OK';
      this.opts.log?.(`binary memory writes (X): ${this.binaryWrites ? 'yes' : `no (${probe === '' ? 'unsupported' : probe})`}`);
    }
    for (let done = 0; done < data.length; ) {
      const n = Math.min(this.profile.maxMemoryWrite, data.length - done);
      const at = address + BigInt(done);
      const bytes = data.subarray(done, done + n);
      const header = `${at.toString(16)},${n.toString(16)}:`;
      // encodePacket escapes the binary part; escaped it is at most as long as M's hex.
      const reply = await this.conn.request(this.binaryWrites ? Buffer.concat([Buffer.from(`X${header}`), bytes]) : `M${header}${encodeHex(bytes)}`);
      this.checkOk(reply, `write ${n} bytes of memory at 0x${at.toString(16)}`);
      done += n;
    }
    this.registerCache.clear();
  }

  insertBreakpoint(address: bigint, kind: BreakpointKind): Promise<void> {
    return this.insertZ(Z_TYPE[kind], address, 1);
  }

  removeBreakpoint(address: bigint, kind: BreakpointKind): Promise<void> {
    return this.removeZ(Z_TYPE[kind], address, 1);
  }

  insertWatchpoint(address: bigint, length: number, kind: WatchKind): Promise<void> {
    return this.insertZ(Z_TYPE[kind], address, length);
  }

  removeWatchpoint(address: bigint, length: number, kind: WatchKind): Promise<void> {
    return this.removeZ(Z_TYPE[kind], address, length);
  }

  async resume(options: { pc?: bigint } = {}): Promise<void> {
    this.forgetStaleStops();
    const pc = options.pc ?? this.takePendingPc();
    this.pendingPc = undefined;
    // A page-table root for reads while the kernel runs (a failure only costs those reads).
    await this.directMemory?.beforeRun?.().catch(() => undefined);
    this.invalidate();
    // `c ADDR` resumes the stopped CPU (QEMU makes the reporting CPU Hc) at ADDR, all CPUs running.
    await this.conn.send(pc !== undefined ? `c${pc.toString(16)}` : this.profile.vCont ? 'vCont;c' : 'c');
    this.isRunning = true;
  }

  async resumeOverBreakpoint(address: bigint, kind: BreakpointKind, threadId?: string): Promise<StopEvent | undefined> {
    this.forgetStaleStops();
    const tid = threadId ?? this.currentThread;
    const type = Z_TYPE[kind];
    const z = `${type},${address.toString(16)},1`;
    if (!this.profile.vCont || !tid) {
      // Stubs without vCont (kgdb): one packet at a time, each checked.
      await this.removeZ(type, address, 1);
      const step = await this.step(threadId);
      await this.insertZ(type, address, 1);
      if (step.reason !== 'trap') return step;
      await this.resume();
      return undefined;
    }
    this.invalidate();
    if (this.stepsOverBreakpointsInPlace) {
      // One round trip: step off the breakpoint with it still in, then continue.
      const step = await this.stopped(await this.conn.request(`vCont;s:${tid}`, { wantsStop: true, timeoutMs: 30_000 }));
      if (step.reason !== 'trap') return step;
      await this.resume();
      return undefined;
    }
    // Two round trips instead of four: [z, step] then [Z, continue], each pair in flight together.
    const [removed, stepReply] = await this.conn.requestMany([`z${z}`, { payload: `vCont;s:${tid}`, wantsStop: true }], 2, 30_000);
    this.inserted.delete(`${type}:${address}:1`);
    this.checkOk(removed!, `remove ${zName(type)} at 0x${address.toString(16)}`);
    const step = await this.stopped(stepReply!);
    if (step.reason !== 'trap') return step;
    const [inserted] = await this.conn.requestMany([`Z${z}`], 1, this.conn.timeoutMs, 'vCont;c');
    this.isRunning = true;
    this.invalidate();
    this.checkOk(inserted!, `insert ${zName(type)} at 0x${address.toString(16)}`);
    this.inserted.set(`${type}:${address}:1`, { type, address, kind: 1 });
    return undefined;
  }

  async step(threadId?: string): Promise<StopEvent> {
    this.forgetStaleStops();
    const tid = threadId ?? this.currentThread;
    if (tid && !this.profile.vCont && tid !== this.currentThread) await this.selectThread(tid, 'c');
    const pc = this.profile.vCont ? undefined : this.takePendingPc();
    this.invalidate();
    this.isRunning = true;
    const reply = await this.conn.request(this.profile.vCont && tid ? `vCont;s:${tid}` : pc !== undefined ? `s${pc.toString(16)}` : 's', { wantsStop: true, timeoutMs: 30_000 });
    return await this.stopped(reply);
  }

  async requestStop(): Promise<void> {
    if (this.profile.interruptByte) this.conn.sendRaw(Buffer.from([0x03]));
    else if (this.opts.breakIn) await this.opts.breakIn();
    else throw new TargetError(`${this.profile.name} stubs cannot be interrupted with Ctrl-C over the protocol, and no break-in was configured`);
  }

  async interrupt(): Promise<StopEvent> {
    await this.requestStop();
    // A target that was not running answers nothing: fail in time rather than wait for ever.
    const ms = this.conn.timeoutMs;
    const timer = new AbortController();
    const t = setTimeout(() => timer.abort(new TargetTimeoutError(`${this.conn.name}: interrupt (no stop reply; was the target running?)`, ms)), ms);
    try {
      return await this.waitForStop(timer.signal);
    } finally {
      clearTimeout(t);
    }
  }

  async waitForStop(signal?: AbortSignal): Promise<StopEvent> {
    return await this.stopped(await this.conn.waitForStop(signal));
  }

  async threads(): Promise<ThreadInfo[]> {
    const ids: string[] = [];
    const seen = new Set<string>();
    for (let reply = await this.conn.request('qfThreadInfo'); ; reply = await this.conn.request('qsThreadInfo')) {
      const part = parseThreadListReply(reply);
      if (part.done) break;
      // A stub that repeats itself would keep this loop going for ever.
      if (part.ids.every((id) => seen.has(id))) throw new TargetError(`${this.conn.name}: the thread list repeats itself (qsThreadInfo answered ${JSON.stringify(reply.slice(0, 40))} again)`);
      for (const id of part.ids) seen.add(id);
      ids.push(...part.ids);
      for (const id of part.ids) this.knownThreads.add(id);
      if (ids.length > 100_000) break;
    }
    const out: ThreadInfo[] = [];
    for (const id of ids) {
      const extra = await this.conn.request(`qThreadExtraInfo,${id}`);
      let description: string | undefined;
      try {
        description = extra && !/^E[0-9a-fA-F]{2}$/.test(extra) ? decodeHex(extra).toString('latin1').replace(/\0+$/, '') : undefined;
      } catch {
        description = undefined;
      }
      out.push({ id, description });
    }
    return out;
  }

  async selectThread(threadId: string, op: 'g' | 'c' = 'g'): Promise<void> {
    const reply = await this.conn.request(`H${op}${threadId}`);
    this.checkOk(reply, `select thread ${threadId}`);
    if (op === 'g') this.currentThread = threadId;
  }

  /** `timeoutMs`: monitor commands may be slow (savevm), so 30 s unless the caller says otherwise. */
  async monitor(command: string, timeoutMs = 30_000): Promise<string> {
    let output = '';
    const stopListening = this.conn.onConsole((text) => (output += text));
    const reply = await this.conn.request(`qRcmd,${encodeHex(Buffer.from(command))}`, { timeoutMs }).finally(stopListening);
    if (reply === '') throw new TargetError(`this stub (${this.profile.name}) has no monitor commands`);
    if (/^E[0-9a-fA-F]{2}$/.test(reply)) throw new TargetError(`monitor command failed (${reply}): ${command}`);
    // A stub may answer with the output itself in hex instead of O packets.
    if (reply !== 'OK' && /^[0-9a-fA-F]+$/.test(reply)) output += decodeHex(reply).toString('utf8');
    return output;
  }

  /**
   * Takes our breakpoints and watchpoints out, sends the pc rewind still pending, then `D`; resolves
   * only when the stub answered OK (the kernel runs on), with the points it could not take out.
   * A stub in multiprocess mode (QEMU once any client, a stock gdb included, asked for
   * `multiprocess+`: its thread ids read `pPID.TID`) answers a plain `D` with E22 and stays
   * halted, so it gets `D;PID`. A refusal or no answer throws, and the connection stays open.
   */
  async detach(): Promise<DetachResult> {
    if (this.conn.closed) throw new TargetError(`${this.conn.name}: not connected, nothing to detach from`);
    if (this.isRunning && this.profile.interruptByte) await this.interrupt();
    const leftInserted: string[] = [];
    for (const z of [...this.inserted.values()]) {
      await this.removeZ(z.type, z.address, z.kind).catch((e: Error) => leftInserted.push(`${zName(z.type)} at 0x${z.address.toString(16)} (${e.message})`));
    }
    // The kernel goes on from where it really stopped: a rewind not yet sent goes now.
    const pending = this.pendingPc;
    if (pending) await this.writeRegister('rip', pending.pc, pending.tid || undefined);
    const pid = multiprocessPid(this.currentThread ?? this.initialStop?.threadId);
    const packet = pid === undefined ? 'D' : `D;${pid}`;
    const reply = await this.conn.request(packet, { timeoutMs: 3000 }).catch((e: Error) => {
      throw new TargetError(`detach: no answer to ${packet} (${e.message}); the kernel may still be halted`);
    });
    if (reply !== 'OK') {
      throw new TargetError(`detach: the stub answered ${packet} with ${reply === '' ? 'nothing (unsupported)' : `'${reply.slice(0, 40)}'`}; the kernel is still halted`, reply);
    }
    this.conn.close();
    return { leftInserted };
  }

  close(): void {
    this.conn.close();
  }

  /** Breakpoints and watchpoints we have in the target, for tests and for `detach`. */
  insertedPoints(): { type: number; address: bigint }[] {
    return [...this.inserted.values()];
  }

  private async insertZ(type: number, address: bigint, kind: number): Promise<void> {
    const reply = await this.conn.request(`Z${type},${address.toString(16)},${kind.toString(16)}`);
    if (reply === '') throw new TargetError(`this stub (${this.profile.name}) does not support ${zName(type)}s`);
    this.checkOk(reply, `insert ${zName(type)} at 0x${address.toString(16)}`);
    this.inserted.set(`${type}:${address}:${kind}`, { type, address, kind });
  }

  private async removeZ(type: number, address: bigint, kind: number): Promise<void> {
    const reply = await this.conn.request(`z${type},${address.toString(16)},${kind.toString(16)}`);
    this.inserted.delete(`${type}:${address}:${kind}`);
    if (reply === '') throw new TargetError(`this stub (${this.profile.name}) does not support ${zName(type)}s`);
    this.checkOk(reply, `remove ${zName(type)} at 0x${address.toString(16)}`);
  }

  /**
   * A stop reply taken in. Where threads are CPUs (a fixed set), a stop naming a thread never seen
   * is checked with `T` (thread alive) first: a stub that names a thread that does not exist is
   * refused, rather than its registers read from whatever CPU happens to be selected.
   */
  private async stopped(payload: string): Promise<StopEvent> {
    const event = parseStopReply(payload);
    this.isRunning = false;
    this.invalidate();
    const tid = event.threadId;
    if (tid && this.threadsAreCpus && !this.knownThreads.has(tid)) {
      const alive = await this.conn.request(`T${tid}`);
      if (alive !== 'OK') throw new TargetError(`the stub reported a stop of thread ${tid}, which it says does not exist (T${tid}: ${alive || 'no answer'})`);
      this.knownThreads.add(tid);
    }
    if (tid) this.currentThread = tid;
    return event;
  }

  /** Threads the stub listed or stopped in (where threads are CPUs). */
  private readonly knownThreads = new Set<string>();

  /** Stop replies queued while the target was stopped (a stray from the stub) say nothing about the resume to come. */
  private forgetStaleStops(): void {
    for (const stale of this.conn.drainStops()) this.opts.log?.(`dropped a stop reply sent while the target was stopped: ${stale.slice(0, 40)}`);
  }

  /** A read (`g`, `p`): a stray reply (STRAY_REPLY) means the stub is out of step: once back in step, asked again. */
  private async ask(payload: string): Promise<string> {
    const reply = await this.conn.request(payload);
    return STRAY_REPLY.test(reply) ? this.askAgain(payload, reply) : reply;
  }

  private async askAgain(payload: string, wrong: string): Promise<string> {
    this.opts.log?.(`'${payload.slice(0, 40)}' answered with '${wrong.slice(0, 40)}': out of step with the stub`);
    await this.conn.resynchronise();
    const reply = await this.conn.request(payload);
    if (STRAY_REPLY.test(reply)) throw new TargetError(`${this.conn.name}: the stub answered '${payload.slice(0, 40)}' with '${reply.slice(0, 40)}', which is no answer to it`);
    return reply;
  }

  forgetState(): void {
    this.invalidate();
  }

  private invalidate(): void {
    this.directMemory?.invalidate();
    this.registerCache.clear();
  }

  private checkOk(reply: string, what: string): void {
    if (reply !== 'OK') throw new TargetError(`${what}: the stub answered ${reply === '' ? 'nothing (unsupported)' : `'${reply.slice(0, 40)}'`}`, reply);
  }

  private checkError(reply: string, what: string): void {
    if (reply === '' || /^E[0-9a-fA-F]{2}$/.test(reply)) throw new TargetError(`${what}: the stub answered ${reply === '' ? 'nothing' : reply}`, reply);
  }
}

/** The process id of a multiprocess thread id, in hex as gdb sends it (`p01.02` -> `1`), or undefined for a plain one (`02`). */
export function multiprocessPid(threadId: string | undefined): string | undefined {
  const pid = /^p([0-9a-fA-F]+)(?:\.|$)/.exec(threadId ?? '')?.[1];
  return pid === undefined ? undefined : parseInt(pid, 16).toString(16);
}

function layoutSize(layout: readonly RegisterDescription[]): number {
  return layout.reduce((n, r) => Math.max(n, r.offset + Math.ceil(r.bitSize / 8)), 0);
}

function zName(type: number): string {
  return ['software breakpoint', 'hardware breakpoint', 'write watchpoint', 'read watchpoint', 'access watchpoint'][type] ?? `Z${type}`;
}

/** Bounds on a target description: real ones are a few KiB, in a few 2 KiB chunks. */
const MAX_TARGET_DESCRIPTION = 1 << 20;
const MAX_TARGET_DESCRIPTION_CHUNKS = 1024;

/** Reads a whole qXfer:features annex, following `m` (more) chunks to the final `l`. */
async function readFeature(conn: RspConnection, annex: string): Promise<string> {
  let text = '';
  let chunks = 0;
  for (let offset = 0; ; ) {
    const { data, last } = parseQxferReply(await conn.request(`qXfer:features:read:${annex}:${offset.toString(16)},7fd`), `target description ${annex}`);
    text += data;
    offset += Buffer.byteLength(data, 'latin1');
    if (last) return text;
    // A stub that never sends its last chunk would fill memory: real descriptions are a few KiB.
    if (offset > MAX_TARGET_DESCRIPTION || ++chunks > MAX_TARGET_DESCRIPTION_CHUNKS) throw new TargetError(`target description ${annex}: ${chunks} chunks, ${offset} bytes and no last chunk (qXfer reply 'l')`);
  }
}

function le64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  return b;
}
