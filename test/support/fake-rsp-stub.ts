/**
 * A FAKE GDB remote stub for the fast tests: in this process, over an in-memory duplex, no socket.
 * It answers as QEMU 7.2's gdbstub (TCG or KVM) or as Linux kgdb does (PROTOCOLS.md §1, §2), over
 * a register file and sparse memory, and runs a toy x86-64 CPU so breakpoints hit and steps move:
 *
 *   90 nop | 0f 1f 44 00 00 nop5 | 55 push %rbp | 5d pop %rbp | 48 89 e5 mov %rsp,%rbp |
 *   48 ff 05 disp32 incq disp(%rip) | eb rel8 jmp | e9 rel32 jmp | f4 hlt | cc int3
 *
 * Only CPU 0 runs code; the other vCPUs stay halted. A continue runs at most `budget` instructions
 * in all, then the CPU idles (halted) until an interrupt byte stops it, as a guest that went idle.
 *
 * What differs by flavour:
 * - qemu/tcg: breakpoints live in the translator (memory unchanged); a continue at a breakpoint's
 *   address traps at once, a step runs the instruction under it ("singlestep overrides breakpoints").
 * - qemu/kvm: Z0 writes 0xcc into memory (m shows it); a step at a breakpoint traps in place.
 * - kgdb: no qSupported/qXfer/vCont, 156-byte `g`, `?` answers S05; int3 bytes are in place only
 *   while the CPU runs, and an int3 trap leaves pc one byte past it; P of rsp is ignored; 0x03 is ignored.
 * Both remove every breakpoint on `?`.
 */
import { Duplex } from 'node:stream';
import { PacketDecoder, decodeHex, encodeHex, encodePacket } from '../../src/target/gdb-remote/packet-codec.js';

export type FakeFlavor = 'qemu-tcg' | 'qemu-kvm' | 'kgdb';

export interface FakeRspStubOptions {
  flavor: FakeFlavor;
  /** Memory regions present in the "guest". */
  memory: { address: bigint; bytes: Buffer }[];
  /** CPU 0's registers at attach (the rest 0; cs 0x10, ss 0x18). */
  registers?: Record<string, bigint>;
  /** vCPUs (QEMU only). */
  cpus?: number;
  /** Instructions CPU 0 may still run before it idles. */
  budget?: number;
  /** qXfer:features chunk size (QEMU answers in pieces of what was asked; smaller tests the m/l loop). */
  xmlChunk?: number;
}

const GPRS = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];

/** QEMU 7.2's x86-64 `g` layout (608 bytes), in regnum order: [name, bits]. */
export const QEMU_REGISTERS: [string, number][] = [
  ...GPRS.map((r): [string, number] => [r, 64]), ['rip', 64], ['eflags', 32],
  ...['cs', 'ss', 'ds', 'es', 'fs', 'gs'].map((r): [string, number] => [r, 32]),
  ...['fs_base', 'gs_base', 'k_gs_base', 'cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer'].map((r): [string, number] => [r, 64]),
  ...Array.from({ length: 8 }, (_, i): [string, number] => [`st${i}`, 80]),
  ...['fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop'].map((r): [string, number] => [r, 32]),
  ...Array.from({ length: 16 }, (_, i): [string, number] => [`xmm${i}`, 128]), ['mxcsr', 32],
];
/** kgdb's x86-64 `g` layout (156 bytes). */
export const KGDB_REGISTERS: [string, number][] = [...GPRS.map((r): [string, number] => [r, 64]), ['rip', 64], ...['eflags', 'cs', 'ss', 'ds', 'es'].map((r): [string, number] => [r, 32])];

const TARGET_XML = '<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target><architecture>i386:x86-64</architecture><xi:include href="i386-64bit.xml"/></target>';
const CORE_XML = `<?xml version="1.0"?><!DOCTYPE feature SYSTEM "gdb-target.dtd"><feature name="org.gnu.gdb.i386.core">${QEMU_REGISTERS.map(
  ([n, bits], i) => `<reg name="${n}" bitsize="${bits}" type="${n === 'rip' ? 'code_ptr' : n === 'eflags' ? 'i386_eflags' : 'int'}"${i === 0 ? ' regnum="0"' : ''}/>`,
).join('')}</feature>`;

interface Cpu {
  regs: Map<string, bigint>;
}

type StopHow = { sig: number; watch?: bigint } | 'idle';

export class FakeRspStub {
  /** The end a client (GdbRemoteTarget.connect) talks to. */
  readonly client: Duplex;
  /** Every packet payload received, in order (for checking what a client sent). */
  readonly received: string[] = [];
  readonly software = new Set<bigint>();
  readonly hardware = new Set<bigint>();
  readonly watchpoints = new Map<bigint, { length: number; kind: number }>();
  /** Instructions CPU 0 executed. */
  executed = 0;
  interrupts = 0;
  private readonly server: Duplex;
  private readonly cpus: Cpu[];
  private readonly pages = new Map<bigint, Buffer>();
  private readonly present = new Set<bigint>();
  private running = false;
  private budget: number;
  private hg = 0;
  private hc = 0;

  constructor(readonly opts: FakeRspStubOptions) {
    [this.client, this.server] = duplexPair();
    this.budget = opts.budget ?? 10_000;
    const layout = this.layout();
    this.cpus = Array.from({ length: this.isQemu ? opts.cpus ?? 1 : 1 }, () => ({
      regs: new Map(layout.map(([n]): [string, bigint] => [n, n === 'cs' ? 0x10n : n === 'ss' ? 0x18n : 0n])),
    }));
    for (const [n, v] of Object.entries(opts.registers ?? {})) this.cpus[0]!.regs.set(n, v);
    for (const m of opts.memory) this.poke(m.address, m.bytes, true);
    const decoder = new PacketDecoder();
    this.server.on('data', (chunk: Buffer) => {
      for (const ev of decoder.feed(chunk)) {
        if (ev.type === 'interrupt') this.onInterrupt();
        if (ev.type !== 'packet') continue;
        const payload = ev.payload.toString('latin1');
        this.received.push(payload);
        this.server.write('+');
        const reply = this.handle(payload, ev.payload);
        if (reply !== undefined) this.send(reply);
      }
    });
  }

  get isQemu(): boolean {
    return this.opts.flavor !== 'kgdb';
  }

  /** The value of a register of a CPU (0-based). */
  reg(name: string, cpu = 0): bigint {
    return this.cpus[cpu]!.regs.get(name)!;
  }

  setReg(name: string, value: bigint, cpu = 0): void {
    this.cpus[cpu]!.regs.set(name, value);
  }

  /** Memory as the CPU sees it (not the int3 bytes kgdb puts in while running). */
  peek(address: bigint, length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) {
      const a = address + BigInt(i);
      if (!this.present.has(a >> 12n)) throw new Error(`fake stub: no memory at 0x${a.toString(16)}`);
      out[i] = this.pages.get(a >> 12n)![Number(a & 0xfffn)]!;
    }
    return out;
  }

  u64(address: bigint): bigint {
    return this.peek(address, 8).readBigUInt64LE();
  }

  /** Sends a packet as the stub would on its own (a stop while the client waits). */
  send(payload: string): void {
    this.server.write(encodePacket(payload));
  }

  close(): void {
    this.server.destroy();
  }

  private layout(): [string, number][] {
    return this.isQemu ? QEMU_REGISTERS : KGDB_REGISTERS;
  }

  private threadId(cpu: number): string {
    return this.isQemu ? (cpu + 1).toString(16).padStart(2, '0') : 'fffffffe';
  }

  private cpuOf(tid: string): number | undefined {
    if (!this.isQemu) return 0;
    if (tid === '-1' || tid === '0') return this.hg;
    const n = parseInt(tid, 16) - 1;
    return n >= 0 && n < this.cpus.length ? n : undefined;
  }

  private poke(address: bigint, bytes: Buffer, create = false): boolean {
    for (let i = 0; i < bytes.length; i++) {
      const a = address + BigInt(i);
      const page = a >> 12n;
      if (!this.present.has(page)) {
        if (!create) return false;
        this.present.add(page);
        this.pages.set(page, Buffer.alloc(0x1000));
      }
    }
    for (let i = 0; i < bytes.length; i++) {
      const a = address + BigInt(i);
      this.pages.get(a >> 12n)![Number(a & 0xfffn)] = bytes[i]!;
    }
    return true;
  }

  /** What `m` shows: under KVM an inserted software breakpoint is an 0xcc in memory. */
  private readForClient(address: bigint, length: number): Buffer | undefined {
    let b: Buffer;
    try {
      b = this.peek(address, length);
    } catch {
      return undefined;
    }
    if (this.opts.flavor === 'qemu-kvm') for (const bp of this.software) if (bp >= address && bp < address + BigInt(length)) b[Number(bp - address)] = 0xcc;
    return b;
  }

  private handle(p: string, raw: Buffer): string | undefined {
    const qemu = this.isQemu;
    if (p.startsWith('qSupported')) return qemu ? 'PacketSize=1000;qXfer:features:read+;vContSupported+;multiprocess+' : '';
    const xfer = /^qXfer:features:read:([^:]+):([0-9a-f]+),([0-9a-f]+)$/.exec(p);
    if (xfer) {
      if (!qemu) return '';
      const doc = xfer[1] === 'target.xml' ? TARGET_XML : xfer[1] === 'i386-64bit.xml' ? CORE_XML : undefined;
      const off = parseInt(xfer[2]!, 16);
      if (!doc || off > doc.length) return 'E00';
      const part = doc.slice(off, off + Math.min(this.opts.xmlChunk ?? 0x7fd, parseInt(xfer[3]!, 16)));
      return (off + part.length >= doc.length ? 'l' : 'm') + part;
    }
    if (p === '?') {
      this.software.clear();
      this.hardware.clear();
      this.watchpoints.clear();
      return qemu ? `T05thread:${this.threadId(this.hg)};` : 'S05';
    }
    if (p === 'g') return this.encodeRegisters(this.cpus[this.hg]!);
    if (p[0] === 'G') return this.decodeRegisters(this.cpus[this.hg]!, p.slice(1));
    if (p[0] === 'p') {
      const n = parseInt(p.slice(1), 16);
      const r = this.layout()[n];
      if (!r || (!qemu && n > 23)) return qemu ? 'E14' : 'E22';
      return this.encodeOne(this.cpus[this.hg]!, r);
    }
    const P = /^P([0-9a-f]+)=([0-9a-f]+)$/.exec(p);
    if (P) {
      const r = this.layout()[parseInt(P[1]!, 16)];
      if (r && !(!qemu && r[0] === 'rsp')) this.cpus[this.hg]!.regs.set(r[0], leValue(decodeHex(P[2]!)));
      return 'OK';
    }
    const m = /^m([0-9a-f]+),([0-9a-f]+)$/.exec(p);
    if (m) {
      const n = parseInt(m[2]!, 16);
      if (qemu && n > 2048) return 'E22';
      const b = this.readForClient(BigInt(`0x${m[1]}`), n);
      return b ? encodeHex(b) : qemu ? 'E14' : 'E22';
    }
    const M = /^M([0-9a-f]+),([0-9a-f]+):([0-9a-f]*)$/.exec(p);
    if (M) {
      const n = parseInt(M[2]!, 16);
      if (M[3]!.length < 2 * n) return 'E22';
      return this.poke(BigInt(`0x${M[1]}`), decodeHex(M[3]!.slice(0, 2 * n))) ? 'OK' : qemu ? 'E14' : 'E22';
    }
    if (p[0] === 'X') {
      if (qemu) return ''; // QEMU 7.2 has no X
      const colon = raw.indexOf(0x3a);
      const [addr, len] = raw.subarray(1, colon).toString('latin1').split(',');
      const data = raw.subarray(colon + 1, colon + 1 + parseInt(len!, 16));
      return this.poke(BigInt(`0x${addr}`), data) ? 'OK' : 'E22';
    }
    const z = /^([zZ])([0-4]),([0-9a-f]+),([0-9a-f]+)$/.exec(p);
    if (z) return this.breakpoint(z[1] === 'Z', Number(z[2]), BigInt(`0x${z[3]}`), parseInt(z[4]!, 16));
    if (p === 'vCont?') return qemu ? 'vCont;c;C;s;S' : '';
    if (p.startsWith('vCont;')) {
      if (!qemu) return '';
      const actions = p.slice(6).split(';').map((a) => a.split(':'));
      const step = actions.find(([a]) => a === 's' || a === 'S');
      if (step) {
        const cpu = step[1] !== undefined ? this.cpuOf(step[1]) : this.hc;
        if (cpu === undefined) return 'E22';
        return this.resume(cpu, 'step');
      }
      return this.resume(this.hc, 'continue');
    }
    const cs = /^([cs])([0-9a-f]*)$/.exec(p);
    if (cs) {
      if (cs[2]) this.cpus[this.hc]!.regs.set('rip', BigInt(`0x${cs[2]}`));
      return this.resume(this.hc, cs[1] === 's' ? 'step' : 'continue');
    }
    const H = /^H([gc])(-?[0-9a-f]+)$/.exec(p);
    if (H) {
      const cpu = this.cpuOf(H[2]!);
      if (cpu === undefined) return 'E22';
      if (H[2] !== '-1') H[1] === 'g' ? (this.hg = cpu) : (this.hc = cpu);
      return 'OK';
    }
    if (p[0] === 'T') return this.cpuOf(p.slice(1)) !== undefined ? 'OK' : 'E22';
    if (p === 'qfThreadInfo') return `m${this.threadId(0)}`;
    if (p === 'qsThreadInfo') {
      // QEMU: one vCPU per reply, then `l`; kgdb: an empty reply ends the list.
      const n = this.received.slice(this.received.lastIndexOf('qfThreadInfo')).filter((x) => x === 'qsThreadInfo').length;
      return qemu ? (n < this.cpus.length ? `m${this.threadId(n)}` : 'l') : '';
    }
    if (p.startsWith('qThreadExtraInfo,')) {
      const cpu = this.cpuOf(p.slice(17));
      if (cpu === undefined) return 'E22';
      return encodeHex(Buffer.from(qemu ? `CPU#${cpu} [${cpu === 0 && this.running ? 'running' : 'halted '}]` : 'shadowCPU0'));
    }
    if (p === 'qC') return `QC${this.threadId(0)}`;
    if (p === 'qAttached') return qemu ? '1' : '';
    if (p.startsWith('qRcmd,')) {
      if (!qemu) return '';
      const cmd = decodeHex(p.slice(6)).toString();
      if (cmd === 'info kvm') {
        this.send(`O${encodeHex(Buffer.from(`kvm support: ${this.opts.flavor === 'qemu-kvm' ? 'enabled' : 'disabled'}\r\n`))}`);
        return 'OK';
      }
      return 'OK';
    }
    if (p === 'D' || p.startsWith('D;')) {
      this.software.clear();
      this.hardware.clear();
      return 'OK';
    }
    return '';
  }

  private breakpoint(insert: boolean, type: number, address: bigint, kind: number): string {
    const qemu = this.isQemu;
    if (type === 3 && !qemu) return 'E01';
    if (type === 3 && this.opts.flavor === 'qemu-kvm') return '';
    if (type === 1 && !qemu && insert && this.hardware.size + this.watchpoints.size >= 4) return 'E28';
    if (type === 0 && qemu && this.opts.flavor === 'qemu-tcg') type = 1; // TCG: Z0 is Z1
    const set = type === 0 ? this.software : type === 1 ? this.hardware : undefined;
    if (set) {
      if (insert) set.add(address);
      else set.delete(address);
    } else if (insert) this.watchpoints.set(address, { length: kind, kind: type });
    else this.watchpoints.delete(address);
    return 'OK';
  }

  /** Whether an execution breakpoint of any kind is at an address. */
  private breakAt(address: bigint): boolean {
    return this.software.has(address) || this.hardware.has(address);
  }

  private resume(cpu: number, how: 'step' | 'continue'): undefined {
    this.running = true;
    setImmediate(() => {
      const stop = how === 'step' ? this.stepOnce(cpu) : this.run(cpu);
      if (stop === 'idle') return; // halted: an interrupt byte stops it
      this.running = false;
      this.report(cpu, stop);
    });
    return undefined;
  }

  private report(cpu: number, stop: { sig: number; watch?: bigint }): void {
    if (this.isQemu) {
      this.hg = this.hc = cpu;
      this.send(`T${stop.sig.toString(16).padStart(2, '0')}thread:${this.threadId(cpu)};${stop.watch !== undefined ? `watch:${stop.watch.toString(16)};` : ''}`);
    } else this.send(`T${stop.sig.toString(16).padStart(2, '0')}thread:${this.threadId(cpu)};`);
  }

  private onInterrupt(): void {
    this.interrupts++;
    if (!this.isQemu || !this.running) return; // kgdb ignores 0x03; QEMU stopped stays quiet
    this.running = false;
    this.idle = false;
    this.report(0, { sig: 2 });
  }

  private idle = false;

  /** One instruction: a breakpoint under it traps (KVM, kgdb) or is stepped over (TCG). */
  private stepOnce(cpu: number): StopHow {
    if (cpu !== 0) return { sig: 5 }; // halted vCPUs stay where they are
    const rip = this.reg('rip');
    if (this.software.has(rip) && this.opts.flavor !== 'qemu-tcg') return this.int3(rip);
    return this.execute() ?? { sig: 5 };
  }

  private run(cpu: number): StopHow {
    if (cpu !== 0) return 'idle';
    for (;;) {
      if (this.budget <= 0 || this.idle) {
        this.idle = true;
        return 'idle';
      }
      const rip = this.reg('rip');
      if (this.hardware.has(rip)) return { sig: 5 };
      if (this.software.has(rip)) return this.opts.flavor === 'qemu-tcg' ? { sig: 5 } : this.int3(rip);
      const stop = this.execute();
      if (stop) return stop;
    }
  }

  /** An int3 executed: kgdb reports the pc after it, QEMU/KVM the breakpoint's address. */
  private int3(at: bigint): { sig: number } {
    if (!this.isQemu) this.setReg('rip', at + 1n);
    return { sig: 5 };
  }

  /** Runs the instruction at rip; a stop when it wrote into a watched range or halted. */
  private execute(): { sig: number; watch?: bigint } | undefined {
    const rip = this.reg('rip');
    const code = this.peek(rip, 16);
    this.budget--;
    this.executed++;
    let written: { at: bigint; n: number } | undefined;
    const push = (v: bigint) => {
      const sp = this.reg('rsp') - 8n;
      this.setReg('rsp', sp);
      this.poke(sp, le64(v));
      written = { at: sp, n: 8 };
    };
    let next: bigint;
    if (code[0] === 0x90) next = rip + 1n;
    else if (code.subarray(0, 5).equals(Buffer.from('0f1f440000', 'hex'))) next = rip + 5n;
    else if (code[0] === 0x55) {
      push(this.reg('rbp'));
      next = rip + 1n;
    } else if (code[0] === 0x5d) {
      const sp = this.reg('rsp');
      this.setReg('rbp', this.u64(sp));
      this.setReg('rsp', sp + 8n);
      next = rip + 1n;
    } else if (code.subarray(0, 3).equals(Buffer.from('4889e5', 'hex'))) {
      this.setReg('rbp', this.reg('rsp'));
      next = rip + 3n;
    } else if (code.subarray(0, 3).equals(Buffer.from('48ff05', 'hex'))) {
      next = rip + 7n;
      const at = next + BigInt(code.readInt32LE(3));
      this.poke(at, le64(this.u64(at) + 1n));
      written = { at, n: 8 };
    } else if (code[0] === 0xeb) next = rip + 2n + BigInt(code.readInt8(1));
    else if (code[0] === 0xe9) next = rip + 5n + BigInt(code.readInt32LE(1));
    else if (code[0] === 0xf4) {
      this.setReg('rip', rip + 1n);
      this.idle = true;
      return undefined;
    } else if (code[0] === 0xcc) return this.int3(rip);
    else throw new Error(`fake stub: the toy CPU cannot run ${code.subarray(0, 4).toString('hex')} at 0x${rip.toString(16)}`);
    this.setReg('rip', next);
    if (written) {
      for (const [at, w] of this.watchpoints) {
        if (w.kind !== 3 && written.at < at + BigInt(w.length) && at < written.at + BigInt(written.n)) return { sig: 5, watch: at };
      }
    }
    return undefined;
  }

  private encodeOne(cpu: Cpu, [name, bits]: [string, number]): string {
    const bytes = Buffer.alloc(bits / 8);
    let v = cpu.regs.get(name) ?? 0n;
    for (let i = 0; i < bytes.length; i++, v >>= 8n) bytes[i] = Number(v & 0xffn);
    return encodeHex(bytes);
  }

  private encodeRegisters(cpu: Cpu): string {
    return this.layout().map((r) => this.encodeOne(cpu, r)).join('');
  }

  private decodeRegisters(cpu: Cpu, hex: string): string {
    const b = decodeHex(hex);
    let off = 0;
    for (const [name, bits] of this.layout()) {
      const n = bits / 8;
      if (off + n > b.length) break;
      if (!(this.opts.flavor === 'kgdb' && name === 'rsp')) cpu.regs.set(name, leValue(b.subarray(off, off + n)));
      off += n;
    }
    return 'OK';
  }
}

function leValue(b: Buffer): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

function le64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  return b;
}

/** Two connected in-memory streams: what one writes, the other reads (asynchronously, as a socket). */
function duplexPair(): [Duplex, Duplex] {
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        setImmediate(() => peer().push(chunk));
        cb();
      },
      final(cb) {
        setImmediate(() => peer().push(null));
        cb();
      },
      destroy(err, cb) {
        const p = peer();
        setImmediate(() => {
          if (!p.destroyed) p.destroy();
        });
        cb(err);
      },
    });
  const a: Duplex = make(() => b);
  const b: Duplex = make(() => a);
  return [a, b];
}
