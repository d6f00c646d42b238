import dgram from 'node:dgram';

/**
 * A FAKE XNU kernel debugger: the KDP side of an x86-64 Mac kernel, because no XNU kernel can run
 * on this machine. It follows PROTOCOLS.md §3 (xnu-7195's kdp_udp.c / kdp.c / kdp_machdep.c) byte
 * for byte: the 8-byte header with `len` equal to the datagram, CONNECT/REATTACH ports read
 * big-endian and replies sent to those ports (not to the source port), the expected-seq rules
 * (seq-1 resends the saved reply, others dropped, ALREADY_CONNECTED as an uncounted sideband
 * reply), READMEM64 limits (BAD_NBYTES over 1024, BAD_ACCESS with a short body on a partial
 * read), x86_THREAD_STATE64 with rdi before rsi, WRITEREGS ignoring cs and cutting fs/gs to 32
 * bits, int3 breakpoints kept by the target (102 if one is there, 101 if none), EXCEPTION
 * notifications resent until acknowledged and all breakpoints removed on DISCONNECT.
 *
 * Its "CPU" runs a few one-byte-or-two instructions out of the fake memory so breakpoints and
 * steps happen for real: 90 nop, cc int3, eb rel8 jmp, f4 hlt (runs for ever: KDP cannot stop
 * it). rip past the int3 at a breakpoint, as on x86.
 */
export interface FakeXnuMemory {
  base: bigint;
  bytes: Buffer;
}

export interface FakeXnuKdpStubOptions {
  memory: FakeXnuMemory[];
  rip: bigint;
  registers?: Partial<Record<string, bigint>>;
  kernelVersion?: string;
  /** boot-args debug= with DB_KDP_BP_DIS: VERSION's feature bit 0 cleared. */
  breakpointsDisabled?: boolean;
  /** ms between EXCEPTION resends while unacknowledged (xnu: ~50 polls and a 250 ms spin). */
  exceptionResendMs?: number;
}

const NAMES = ['rax', 'rbx', 'rcx', 'rdx', 'rdi', 'rsi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags', 'cs', 'fs', 'gs'];
const STATE_SIZE = 168;
const FLOAT_STATE_SIZE = 524;

export class FakeXnuKdpStub {
  readonly requests: { request: number; seq: number; length: number }[] = [];
  readonly log: string[] = [];
  greeting: string | undefined;
  replyPort: number | undefined;
  exceptionPort: number | undefined;
  private connected = false;
  private expectedSeq = 0;
  private savedReply: Buffer | undefined;
  private key = 0;
  private readonly state = Buffer.alloc(STATE_SIZE);
  private readonly breakpoints = new Map<bigint, number>();
  private cpu: 'debugger' | 'running' | 'halted' = 'debugger';
  private exceptionSeq = 0;
  private ackNeeded = false;
  private exceptionTimer: NodeJS.Timeout | undefined;
  /** Replies to drop (as if lost on the wire), counted down. */
  dropReplies = 0;
  /** Acks to ignore (as if lost), counted down. */
  ignoreAcks = 0;
  /** Stop answering anything (a target that hung). */
  mute = false;
  exceptionsSent = 0;
  acksSeen = 0;
  instructionsRun = 0;

  private constructor(private readonly socket: dgram.Socket, private readonly opts: FakeXnuKdpStubOptions) {
    this.setReg('rip', opts.rip);
    this.setReg('rflags', 0x202n);
    this.setReg('cs', 0x8n);
    for (const [name, v] of Object.entries(opts.registers ?? {})) this.setReg(name, v!);
    socket.on('message', (msg) => this.receive(msg));
  }

  static async start(opts: FakeXnuKdpStubOptions): Promise<FakeXnuKdpStub> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new FakeXnuKdpStub(socket, opts);
  }

  get port(): number {
    return this.socket.address().port;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  get cpuState(): 'debugger' | 'running' | 'halted' {
    return this.cpu;
  }

  get breakpointAddresses(): bigint[] {
    return [...this.breakpoints.keys()];
  }

  reg(name: string): bigint {
    return this.state.readBigUInt64LE(NAMES.indexOf(name) * 8);
  }

  setReg(name: string, value: bigint): void {
    const i = NAMES.indexOf(name);
    if (i < 0) throw new Error(`fake: no register ${name}`);
    this.state.writeBigUInt64LE(BigInt.asUintN(64, value), i * 8);
  }

  /** Sends raw bytes to the debugger's port (garbage, as a broken stub might). */
  sendRaw(bytes: Buffer): void {
    if (this.replyPort) this.socket.send(bytes, this.replyPort, '127.0.0.1');
  }

  peek(address: bigint, length: number): Buffer | undefined {
    const m = this.opts.memory.find((r) => address >= r.base && address + BigInt(length) <= r.base + BigInt(r.bytes.length));
    return m?.bytes.subarray(Number(address - m.base), Number(address - m.base) + length);
  }

  close(): void {
    clearInterval(this.exceptionTimer);
    this.cpu = 'halted';
    this.socket.close();
  }

  private receive(msg: Buffer): void {
    if (this.mute || msg.length < 8) return;
    const request = msg[0]! & 0x7f;
    const isReply = (msg[0]! & 0x80) !== 0;
    const seq = msg[1]!;
    const len = msg.readUInt16LE(2);
    // kdp_exception_ack looks at the header only (LLDB's ack echoes the notification's len).
    if (isReply) {
      if (request === 0x0d) this.exceptionAck(seq);
      return;
    }
    if (len !== msg.length) return this.note(`dropped: len ${len} for a ${msg.length}-byte datagram`);
    this.requests.push({ request, seq, length: len });
    const body = msg.subarray(8);
    if (!this.connected) {
      // kdp_connection_wait: only CONNECT or REATTACH with seq 0.
      if ((request !== 0x00 && request !== 0x12) || seq !== 0) return this.note(`waiting for CONNECT: dropped request 0x${request.toString(16)} seq ${seq}`);
    } else if (request === 0x00) {
      // Already connected: a sideband reply, neither saved nor counted.
      return this.send(this.reply(msg, u32(1)), body.readUInt16BE(0));
    } else if (seq === ((this.expectedSeq - 1) & 0xff) && this.savedReply) {
      return this.send(this.savedReply, this.replyPort!);
    } else if (seq !== this.expectedSeq) {
      return this.note(`kdp: bad sequence ${seq} (expected ${this.expectedSeq})`);
    }
    this.handle(request, msg, body);
  }

  private handle(request: number, msg: Buffer, body: Buffer): void {
    const seq = msg[1]!;
    const answer = (reply: Buffer, port = this.replyPort!) => {
      this.savedReply = reply;
      this.expectedSeq = (seq + 1) & 0xff;
      this.send(reply, port);
    };
    switch (request) {
      case 0x00: { // CONNECT
        this.replyPort = body.readUInt16BE(0);
        this.exceptionPort = body.readUInt16BE(2);
        const nul = body.indexOf(0, 4);
        this.greeting = body.subarray(4, nul < 0 ? body.length : nul).toString('latin1');
        this.key = msg.readUInt32LE(4);
        this.connected = true;
        return answer(this.reply(msg, u32(0)));
      }
      case 0x12: { // REATTACH: reply, then wait for a new CONNECT with seq 0
        const port = body.readUInt16BE(0);
        this.disconnect();
        this.send(this.reply(msg), port);
        return;
      }
      case 0x01: { // DISCONNECT
        const port = this.replyPort!;
        this.send(this.reply(msg), port);
        this.disconnect();
        this.run();
        return;
      }
      case 0x02: return answer(this.reply(msg, u32(1), u32(0x01000007), u32(3)));
      case 0x03: return answer(this.reply(msg, u32(12), u32(this.opts.breakpointsDisabled ? 0 : 1), u32(0), u32(0)));
      case 0x04: return answer(this.reply(msg, u32(1024)));
      case 0x18: return answer(this.reply(msg, Buffer.from(`${this.opts.kernelVersion ?? 'Darwin Kernel Version 20.6.0: FAKE XNU for kdive tests; root:xnu-7195.141.2~1/RELEASE_X86_64; UUID=00000000-1111-2222-3333-444444444444; stext=0xffffff8000200000'}\0`, 'latin1')));
      case 0x14: { // READMEM64
        const address = body.readBigUInt64LE(0);
        const n = body.readUInt32LE(8);
        if (n > 1024) return answer(this.reply(msg, u32(2)));
        const data = this.readable(address, n);
        return answer(this.reply(msg, u32(data.length < n ? 4 : 0), data));
      }
      case 0x15: { // WRITEMEM64
        const address = body.readBigUInt64LE(0);
        const n = body.readUInt32LE(8);
        const data = body.subarray(12, 12 + n);
        if (n > 1024 || data.length !== n) return answer(this.reply(msg, u32(2)));
        return answer(this.reply(msg, u32(this.write(address, data) ? 0 : 4)));
      }
      case 0x07: { // READREGS: cpu ignored
        const flavor = body.readUInt32LE(4);
        if (flavor === 4) return answer(this.reply(msg, u32(0), this.state));
        if (flavor === 5) return answer(this.reply(msg, u32(0), Buffer.alloc(FLOAT_STATE_SIZE)));
        return answer(this.reply(msg, u32(3)));
      }
      case 0x08: { // WRITEREGS
        const flavor = body.readUInt32LE(4);
        if (flavor === 5) return answer(this.reply(msg, u32(0)));
        if (flavor !== 4 || body.length < 8 + STATE_SIZE) return answer(this.reply(msg, u32(3)));
        const cs = this.reg('cs');
        body.copy(this.state, 0, 8, 8 + STATE_SIZE);
        this.setReg('cs', cs);
        this.setReg('fs', this.reg('fs') & 0xffffffffn);
        this.setReg('gs', this.reg('gs') & 0xffffffffn);
        return answer(this.reply(msg, u32(0)));
      }
      case 0x16: { // BREAKPOINT64_SET
        const address = body.readBigUInt64LE(0);
        const old = this.peek(address, 1);
        if (!old) return answer(this.reply(msg, u32(4)));
        if (old[0] === 0xcc) return answer(this.reply(msg, u32(102)));
        if (this.breakpoints.size >= 100) return answer(this.reply(msg, u32(100)));
        this.breakpoints.set(address, old[0]!);
        old[0] = 0xcc;
        return answer(this.reply(msg, u32(0)));
      }
      case 0x17: { // BREAKPOINT64_REMOVE
        const address = body.readBigUInt64LE(0);
        const old = this.breakpoints.get(address);
        if (old === undefined) return answer(this.reply(msg, u32(101)));
        this.peek(address, 1)![0] = old;
        this.breakpoints.delete(address);
        return answer(this.reply(msg, u32(0)));
      }
      case 0x0c: { // RESUMECPUS: the reply first, then the kernel runs
        answer(this.reply(msg));
        this.run();
        return;
      }
      default:
        // kdp_unknown: no reply.
        return this.note(`unknown request 0x${request.toString(16)}`);
    }
  }

  /** Builds a reply over the request's header: the reply bit set, seq and key echoed, len updated. */
  private reply(request: Buffer, ...body: Buffer[]): Buffer {
    const out = Buffer.concat([request.subarray(0, 8), ...body]);
    out[0] = request[0]! | 0x80;
    out.writeUInt16LE(out.length, 2);
    return out;
  }

  private send(packet: Buffer, port: number): void {
    if (this.dropReplies > 0) {
      this.dropReplies--;
      this.note(`lost a reply (seq ${packet[1]})`);
      return;
    }
    this.socket.send(packet, port, '127.0.0.1');
  }

  private disconnect(): void {
    for (const [address, old] of this.breakpoints) this.peek(address, 1)![0] = old;
    this.breakpoints.clear();
    this.connected = false;
    this.expectedSeq = 0;
    this.savedReply = undefined;
  }

  private readable(address: bigint, n: number): Buffer {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const b = this.peek(address + BigInt(i), 1);
      if (!b) break;
      out.push(b[0]!);
    }
    return Buffer.from(out);
  }

  private write(address: bigint, data: Buffer): boolean {
    for (let i = 0; i < data.length; i++) {
      const b = this.peek(address + BigInt(i), 1);
      if (!b) return false;
      b[0] = data[i]!;
    }
    return true;
  }

  /** The CPU runs until a trap; batches keep the event loop (and the socket) alive. */
  private run(): void {
    this.cpu = 'running';
    const stepping = (this.reg('rflags') & 0x100n) !== 0n;
    const slice = () => {
      if (this.cpu !== 'running') return;
      for (let i = 0; i < 2000; i++) {
        const rip = this.reg('rip');
        const op = this.peek(rip, 1)?.[0];
        if (op === undefined) return this.trap(1, 0);
        this.instructionsRun++;
        if (op === 0xcc) {
          this.setReg('rip', rip + 1n);
          return this.trap(6, 3);
        }
        if (op === 0xf4) {
          this.cpu = 'halted';
          return;
        }
        if (op === 0xeb) {
          const rel = this.peek(rip + 1n, 1);
          if (!rel) return this.trap(1, 0);
          this.setReg('rip', rip + 2n + BigInt((rel[0]! << 24) >> 24));
        } else if (op === 0x90) {
          this.setReg('rip', rip + 1n);
        } else {
          return this.trap(2, 0);
        }
        if (stepping) return this.trap(6, 3);
      }
      setImmediate(slice);
    };
    setImmediate(slice);
  }

  /** kdp_raise_exception: stop in the debugger and tell the debugger until it acknowledges. */
  private trap(exception: number, code: number): void {
    this.cpu = 'debugger';
    if (!this.connected) return this.note('trap without a debugger: waiting for a connection');
    const packet = Buffer.alloc(28);
    packet[0] = 0x0d;
    packet[1] = this.exceptionSeq;
    packet.writeUInt16LE(28, 2);
    packet.writeUInt32LE(0, 4);
    packet.writeUInt32LE(1, 8);
    packet.writeUInt32LE(0, 12);
    packet.writeUInt32LE(exception, 16);
    packet.writeUInt32LE(code, 20);
    packet.writeUInt32LE(0, 24);
    this.ackNeeded = true;
    let tries = 0;
    const sendIt = () => {
      if (!this.ackNeeded) return clearInterval(this.exceptionTimer);
      if (++tries > 100) {
        clearInterval(this.exceptionTimer);
        this.note('kdp: exception ack timeout');
        this.disconnect();
        return;
      }
      this.exceptionsSent++;
      this.socket.send(packet, this.exceptionPort!, '127.0.0.1');
    };
    clearInterval(this.exceptionTimer);
    this.exceptionTimer = setInterval(sendIt, this.opts.exceptionResendMs ?? 50);
    sendIt();
  }

  private exceptionAck(seq: number): void {
    this.acksSeen++;
    if (this.ignoreAcks > 0) {
      this.ignoreAcks--;
      return this.note(`lost an ack (seq ${seq})`);
    }
    if (this.ackNeeded && seq === this.exceptionSeq) {
      this.ackNeeded = false;
      this.exceptionSeq = (this.exceptionSeq + 1) & 0xff;
      clearInterval(this.exceptionTimer);
    }
  }

  private note(line: string): void {
    this.log.push(line);
  }
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
}

/**
 * Fake kernel text for the fake CPU: nops from offset 0 to a `jmp` at 0x12 back to 0, so the CPU
 * passes 0x10 each time round the loop; a byte pattern after it for memory tests.
 */
export function fakeXnuLoopText(size: number): Buffer {
  const text = Buffer.alloc(size);
  for (let i = 0; i < text.length; i++) text[i] = (i * 7 + 3) & 0xff;
  text.fill(0x90, 0, 0x12);
  text[0x12] = 0xeb;
  text[0x13] = (0x00 - 0x14) & 0xff;
  return text;
}
