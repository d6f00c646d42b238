/**
 * A FAKE, LYING GDB remote stub for the hostile-input tests (issue 23): it listens on 127.0.0.1
 * (port 0) and, for each connection, relays to a fresh honest FakeRspStub (fake-rsp-stub.ts, QEMU
 * 7.2 under TCG) running the toy kernel (toy-kernel.ts) in a loop through `add`. Per scenario it
 * corrupts what that stub says while keeping the RSP framing valid (good checksums, whole
 * packets), so what kdive meets is a stub that is wrong, not a line that is noisy:
 *
 *   honest                 nothing changed (the control case)
 *   short-g / long-g       `g` replies cut after the 16 GPRs (and every `p` refused: rip is
 *                          nowhere) / with 100 bytes of surplus
 *   wild-registers         rip and rsp non-canonical in every `g` reply
 *   garbage-frame-chain    rbp points at a chain of frames, inside the stack, whose return
 *                          addresses are nonsense (0x4141…, a user address)
 *   memory-error-mid-read  E14 for the second packet of a multi-packet memory read
 *   short-memory           every `m` answered with half the bytes asked (at least one)
 *   phantom-thread         stop replies after a resume name thread 7f, which does not exist
 *   unsolicited-reply      the first `g` gets an `OK` it never asked for before its reply, and
 *                          a stray stop reply after it (while the target is stopped)
 *   silence                stops answering after `afterPackets` packets (the socket stays open)
 *   hang-up-mid-read       closes the connection on the second packet of a multi-packet read
 *
 * The toy machine: CPU 0 runs nops from LOOP_START into `add` (push %rbp; mov %rsp,%rbp;
 * pop %rbp; jmp LOOP_START), with a return address into entry_asm at the top of its stack.
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PacketDecoder, encodePacket } from '../../src/target/gdb-remote/packet-codec.js';
import { isStopReply } from '../../src/target/gdb-remote/rsp-connection.js';
import { FakeRspStub } from './fake-rsp-stub.js';
import { ADD, buildToyKernel, DATA, ENTRY_ASM, TEXT, toyKernelMemory } from './toy-kernel.js';

export type LieScenario =
  | 'honest'
  | 'short-g'
  | 'long-g'
  | 'wild-registers'
  | 'garbage-frame-chain'
  | 'memory-error-mid-read'
  | 'short-memory'
  | 'phantom-thread'
  | 'unsolicited-reply'
  | 'silence'
  | 'hang-up-mid-read';

export const LIE_SCENARIOS: LieScenario[] = [
  'honest', 'short-g', 'long-g', 'wild-registers', 'garbage-frame-chain', 'memory-error-mid-read',
  'short-memory', 'phantom-thread', 'unsolicited-reply', 'silence', 'hang-up-mid-read',
];

/** Where CPU 0 starts and where its loop jumps back to: 0x40 bytes of nops before `add`. */
export const LOOP_START = TEXT - 0x40n;
/** The top of CPU 0's stack: [STACK_TOP] holds a return address into entry_asm. */
export const STACK_TOP = 0xffffc90000008000n;
/** Where the garbage frame chain of `garbage-frame-chain` starts (inside the stack page). */
export const GARBAGE_RBP = STACK_TOP + 0x20n;
/** A non-canonical value: what `wild-registers` puts in rip. */
export const WILD_RIP = 0x4141414141414141n;
/** A non-canonical value: what `wild-registers` puts in rsp. */
export const WILD_RSP = 0xdead0000beef0000n;

/** The toy vmlinux written into `dir`; its path. */
export function writeToyVmlinux(dir: string): string {
  const file = path.join(dir, 'vmlinux');
  writeFileSync(file, buildToyKernel().bytes);
  return file;
}

/** The honest machine under the lies: the toy kernel's .text with `add` made a loop, its data, a stack. */
function honestStub(scenario: LieScenario): FakeRspStub {
  const text = buildToyKernelText();
  // add: 55 push %rbp | 48 89 e5 mov %rsp,%rbp | 5d pop %rbp | eb rel8 jmp LOOP_START
  text[4] = 0x5d;
  text[5] = 0xeb;
  text.writeInt8(Number(LOOP_START - (ADD + 7n)), 6);
  const stack = Buffer.alloc(0x100);
  stack.writeBigUInt64LE(ENTRY_ASM + 5n, 0x80);
  if (scenario === 'garbage-frame-chain') {
    // [rbp] the next rbp, [rbp+8] a return address: two links of nonsense, then the end.
    const at = Number(GARBAGE_RBP - (STACK_TOP - 0x80n));
    stack.writeBigUInt64LE(GARBAGE_RBP + 0x10n, at);
    stack.writeBigUInt64LE(WILD_RIP, at + 8);
    stack.writeBigUInt64LE(GARBAGE_RBP + 0x20n, at + 0x10);
    stack.writeBigUInt64LE(0x00007fffdeadbeefn, at + 0x18);
  }
  return new FakeRspStub({
    flavor: 'qemu-tcg',
    memory: [
      { address: LOOP_START, bytes: Buffer.alloc(0x40, 0x90) },
      { address: TEXT, bytes: text },
      { address: STACK_TOP - 0x80n, bytes: stack },
      ...toyKernelMemory().regions(),
    ],
    registers: { rip: LOOP_START, rsp: STACK_TOP, rbp: scenario === 'garbage-frame-chain' ? GARBAGE_RBP : 0n, rdi: 2n, rsi: 3n },
    budget: 1_000_000,
  });
}

let toyText: Buffer | undefined;

/** A copy of the toy kernel's .text (built once). */
function buildToyKernelText(): Buffer {
  // As toy-kernel.ts writes it: push/mov at add and util_fn, nops elsewhere (rebuilt rather than
  // parsed back out of the ELF).
  if (!toyText) {
    toyText = Buffer.alloc(0x1100, 0x90);
    Buffer.from('554889e5', 'hex').copy(toyText, 0);
    Buffer.from('554889e5', 'hex').copy(toyText, 0x1000);
  }
  return Buffer.from(toyText);
}

export interface LyingStubOptions {
  /** For `silence`: packets answered before the stub goes quiet. */
  afterPackets?: number;
}

/** The FAKE lying stub: a loopback server; each connection gets its own toy machine and the scenario's lies. */
export class FakeLyingRspStub {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly machines: FakeRspStub[] = [];

  private constructor(readonly scenario: LieScenario, private readonly opts: LyingStubOptions) {
    this.server = net.createServer((socket) => this.serve(socket));
  }

  static async listen(scenario: LieScenario, opts: LyingStubOptions = {}): Promise<FakeLyingRspStub> {
    const stub = new FakeLyingRspStub(scenario, opts);
    await new Promise<void>((resolve) => stub.server.listen(0, '127.0.0.1', resolve));
    return stub;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** The honest machine of the latest connection (to check what kdive left in it). */
  get machine(): FakeRspStub | undefined {
    return this.machines[this.machines.length - 1];
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const m of this.machines) m.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    // A client that vanishes is the end of its conversation, nothing more.
    socket.on('error', () => socket.destroy());
    const inner = honestStub(this.scenario);
    this.machines.push(inner);
    const fromClient = new PacketDecoder();
    const fromStub = new PacketDecoder();
    /** Requests the inner stub will answer with a reply of their own (resumes and steps answer with a stop). */
    const asked: string[] = [];
    let packets = 0;
    let lastRead: { at: bigint; n: number } | undefined;
    let gSeen = 0;
    const say = (payloads: string[]) => {
      if (!socket.destroyed) for (const p of payloads) socket.write(encodePacket(p));
    };
    socket.on('data', (chunk: Buffer) => {
      for (const ev of fromClient.feed(chunk)) {
        if (ev.type === 'interrupt' && !this.quiet(packets)) inner.client.write(Buffer.from([0x03]));
        if (ev.type !== 'packet') continue;
        const p = ev.payload.toString('latin1');
        packets++;
        if (this.quiet(packets)) continue;
        const m = /^m([0-9a-f]+),([0-9a-f]+)$/.exec(p);
        const read = m ? { at: BigInt(`0x${m[1]}`), n: parseInt(m[2]!, 16) } : undefined;
        const continuation = read && lastRead && read.at === lastRead.at + BigInt(lastRead.n);
        if (read) lastRead = read;
        if (continuation && this.scenario === 'hang-up-mid-read') {
          socket.destroy();
          return;
        }
        if (continuation && this.scenario === 'memory-error-mid-read') {
          // Answered in its turn: a harmless qC goes to the honest stub, and its reply becomes the E14.
          asked.push('lie:E14');
          inner.client.write(encodePacket('qC'));
          continue;
        }
        if (!/^(c|s|vCont;[cCsS])/.test(p)) asked.push(p);
        inner.client.write(encodePacket(ev.payload));
      }
    });
    inner.client.on('data', (chunk: Buffer) => {
      for (const ev of fromStub.feed(chunk)) {
        if (ev.type !== 'packet') continue;
        const reply = ev.payload.toString('latin1');
        const console = reply !== 'OK' && /^O[0-9a-fA-F]+$/.test(reply);
        const stop = isStopReply(reply);
        const request = console || (stop && asked[0] !== '?') ? undefined : asked.shift();
        if (request === 'lie:E14') {
          say(['E14']);
          continue;
        }
        if (request === 'g') gSeen++;
        say(this.lie(reply, request, gSeen));
      }
    });
  }

  private quiet(packets: number): boolean {
    return this.scenario === 'silence' && packets > (this.opts.afterPackets ?? 20);
  }

  /** What the client gets instead of `reply` (the answer to `request`, or an event when undefined). */
  private lie(reply: string, request: string | undefined, gSeen: number): string[] {
    switch (this.scenario) {
      case 'short-g':
        if (request === 'g') return [reply.slice(0, 16 * 16)];
        if (request?.[0] === 'p') return ['E14'];
        return [reply];
      case 'long-g':
        return [request === 'g' ? reply + 'ff'.repeat(100) : reply];
      case 'wild-registers':
        if (request !== 'g') return [reply];
        return [withRegister(withRegister(reply, 7, WILD_RSP), 16, WILD_RIP)];
      case 'short-memory': {
        const m = request && /^m[0-9a-f]+,([0-9a-f]+)$/.exec(request);
        if (!m || /^E/.test(reply)) return [reply];
        return [reply.slice(0, 2 * Math.max(1, Math.ceil(parseInt(m[1]!, 16) / 2)))];
      }
      case 'phantom-thread':
        return [request === undefined && isStopReply(reply) ? reply.replace(/thread:[^;]+;/, 'thread:7f;') : reply];
      case 'unsolicited-reply':
        return request === 'g' && gSeen === 1 ? ['OK', reply, 'T05thread:01;'] : [reply];
      default:
        return [reply];
    }
  }
}

/** A `g` reply (QEMU's layout: 8-byte GPRs first, rip as register 16) with one 64-bit register replaced. */
function withRegister(g: string, regnum: number, value: bigint): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(value);
  return g.slice(0, regnum * 16) + b.toString('hex') + g.slice(regnum * 16 + 16);
}

export { ADD, DATA };
