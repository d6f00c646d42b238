import net from 'node:net';
import type { BreakpointKind, StopEvent, Target, WatchKind } from '../target/target.js';
import { PacketDecoder, decodeHex, encodeHex, encodePacket } from '../target/gdb-remote/packet-codec.js';
import { GDB_AMD64_LAYOUT } from '../target/gdb-remote/stub-profile.js';
import { AMD64_TARGET_XML } from './amd64-target-xml.js';
import { listenOnLoopback, refuseSecondGdb } from './one-gdb-listener.js';

export interface RspTargetServerOptions {
  /** Loopback only. */
  listenHost: string;
  listenPort: number;
  log?: (line: string) => void;
}

export interface RspTargetServer {
  port: number;
  /** Resolves when gdb has gone and the target was let go (detached, breakpoints out). */
  done: Promise<void>;
  close(): Promise<void>;
}

const Z_KIND: Record<string, { bp?: BreakpointKind; watch?: WatchKind }> = {
  '0': { bp: 'software' }, '1': { bp: 'hardware' }, '2': { watch: 'write' }, '3': { watch: 'read' }, '4': { watch: 'access' },
};
/** gdb sees one thread: the CPU the target stopped on (all KDP shows). */
const THREAD = '1';

/**
 * The gdb side of a stub kdive speaks itself (KDP, which gdb does not know): an RSP server for one
 * stock gdb over any Target. gdb sees gdb's amd64 registers (those the target lacks as `xx`,
 * unavailable), memory, software breakpoints with the pc already rewound (`swbreak`), steps,
 * continue with an asynchronous stop, Ctrl-C (a target that cannot be stopped says why, as console
 * output), `monitor` and detach. When gdb detaches or hangs up, kdive detaches from the target:
 * its breakpoints out, the kernel running.
 */
export async function startRspTargetServer(target: Target, opts: RspTargetServerOptions): Promise<RspTargetServer> {
  const log = opts.log ?? (() => {});
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let active: net.Socket | undefined;
  let released = false;
  const release = async (why: string) => {
    if (released) return;
    released = true;
    log(`${why}: detaching from the target`);
    await target.detach().then(
      (r) => log(`detached: the kernel runs on${r.leftInserted.map((p) => `; still in: ${p}`).join('')}`),
      (e: Error) => log(`detach failed: ${e.message}`),
    );
    server.close();
    finish();
  };
  const server = net.createServer((client) => {
    if (active || released) return refuseSecondGdb(client);
    active = client;
    client.setNoDelay(true);
    log(`gdb connected from ${client.remoteAddress}:${client.remotePort}`);
    const session = new GdbSession(target, client, (why) => void release(why));
    client.on('data', (d: Buffer) => session.feed(d));
    client.on('close', () => void release('gdb closed the connection'));
    client.on('error', () => void release('gdb hung up'));
  });
  const port = await listenOnLoopback(server, opts.listenHost, opts.listenPort);
  return {
    port,
    done,
    close: async () => {
      active?.destroy();
      await release('proxy closed');
    },
  };
}

/** One gdb connection: packets in order, one at a time (a resume answers later, with the stop). */
class GdbSession {
  private readonly decoder = new PacketDecoder();
  private acks = true;
  private chain: Promise<void> = Promise.resolve();
  private lastStop = 'S05';
  private readonly breakpoints = new Set<bigint>();

  constructor(private readonly target: Target, private readonly client: net.Socket, private readonly end: (why: string) => void) {}

  feed(data: Buffer): void {
    for (const ev of this.decoder.feed(data)) {
      if (ev.type === 'packet') {
        if (this.acks) this.client.write('+');
        const payload = ev.payload.toString('latin1');
        this.chain = this.chain.then(() => this.handle(payload, ev.payload)).catch((e: Error) => this.reply(`E.${oneLine(e.message)}`));
      } else if (ev.type === 'interrupt') {
        void this.interrupt();
      } else if (ev.type === 'bad-checksum') {
        this.client.write('-');
      }
    }
  }

  private reply(payload: string): void {
    if (!this.client.destroyed) this.client.write(encodePacket(payload));
  }

  private console(text: string): void {
    this.reply(`O${encodeHex(Buffer.from(text))}`);
  }

  private async interrupt(): Promise<void> {
    if (!this.target.running) return;
    // The stop, if the target can be stopped, reaches the continue that waits for it.
    await this.target.requestStop().catch((e: Error) => this.console(`kdive: ${e.message}\n`));
  }

  private async handle(p: string, raw: Buffer): Promise<void> {
    if (p.startsWith('qSupported')) return this.reply('PacketSize=1000;qXfer:features:read+;QStartNoAckMode+;swbreak+;vContSupported+');
    if (p === 'QStartNoAckMode') {
      this.reply('OK');
      this.acks = false;
      return;
    }
    if (p.startsWith('qXfer:features:read:target.xml:')) return this.reply(xferChunk(AMD64_TARGET_XML, p.slice('qXfer:features:read:target.xml:'.length)));
    if (p === '?') return this.reply(this.lastStop);
    if (p === 'qAttached') return this.reply('1');
    if (p === 'qC') return this.reply(`QC${THREAD}`);
    if (p === 'qfThreadInfo') return this.reply(`m${THREAD}`);
    if (p === 'qsThreadInfo') return this.reply('l');
    if (p.startsWith('qThreadExtraInfo,')) {
      const [t] = await this.target.threads();
      return this.reply(encodeHex(Buffer.from(t?.description ?? '')));
    }
    if (p[0] === 'H' || p[0] === 'T') return this.reply('OK');
    if (p === 'vCont?') return this.reply('vCont;c;C;s;S');
    if (p === 'g') return this.reply(await this.registersHex());
    if (p[0] === 'p') return this.reply(await this.registerHex(parseInt(p.slice(1), 16)));
    if (p[0] === 'P') return this.writeRegisterPacket(p);
    if (p[0] === 'G') return this.writeAllRegisters(p.slice(1));
    if (p[0] === 'm') {
      const [addr, len] = p.slice(1).split(',');
      try {
        return this.reply(encodeHex(await this.target.readMemory(BigInt(`0x${addr}`), Math.min(parseInt(len!, 16), 0x7f0))));
      } catch {
        return this.reply('E14');
      }
    }
    if (p[0] === 'M' || p[0] === 'X') return this.writeMemoryPacket(p, raw);
    if (p[0] === 'Z' || p[0] === 'z') return this.breakpointPacket(p);
    if (p[0] === 'c' || p[0] === 'C' || p.startsWith('vCont;c') || p.startsWith('vCont;C')) return this.resume(p);
    if (p[0] === 's' || p[0] === 'S' || p.startsWith('vCont;s') || p.startsWith('vCont;S')) return this.step();
    if (p.startsWith('qRcmd,')) {
      const out = await this.target.monitor(decodeHex(p.slice(6)).toString());
      if (out) this.console(out);
      return this.reply('OK');
    }
    if (p[0] === 'D' || p === 'k') {
      this.reply('OK');
      this.end(p[0] === 'D' ? 'gdb detached' : 'gdb killed the session');
      return;
    }
    this.reply('');
  }

  private async registersHex(): Promise<string> {
    const values = await this.target.readRegisters();
    return GDB_AMD64_LAYOUT.map((r) => valueHex(values.get(r.name), values.raw(r.name), r.bitSize / 8)).join('');
  }

  private async registerHex(regnum: number): Promise<string> {
    const r = GDB_AMD64_LAYOUT[regnum];
    if (!r) return 'E45';
    const values = await this.target.readRegisters();
    return valueHex(values.get(r.name), values.raw(r.name), r.bitSize / 8);
  }

  private async writeRegisterPacket(p: string): Promise<void> {
    const [num, hex] = p.slice(1).split('=');
    const r = GDB_AMD64_LAYOUT[parseInt(num!, 16)];
    if (!r || !hex) return this.reply('E45');
    await this.target.writeRegister(r.name, leValue(decodeHex(hex)));
    this.reply('OK');
  }

  private async writeAllRegisters(hex: string): Promise<void> {
    const data = decodeHex(hex);
    const current = await this.target.readRegisters();
    for (const r of GDB_AMD64_LAYOUT) {
      const size = r.bitSize / 8;
      if (r.offset + size > data.length || size > 8) continue;
      const v = leValue(data.subarray(r.offset, r.offset + size));
      const now = current.get(r.name);
      if (now !== undefined && BigInt.asUintN(r.bitSize, now) !== v && !this.target.readOnlyRegisters?.includes(r.name)) await this.target.writeRegister(r.name, v);
    }
    this.reply('OK');
  }

  private async writeMemoryPacket(p: string, raw: Buffer): Promise<void> {
    const colon = raw.indexOf(0x3a);
    const [addr, len] = p.slice(1, colon).split(',');
    const n = parseInt(len!, 16);
    const data = p[0] === 'X' ? raw.subarray(colon + 1) : decodeHex(p.slice(colon + 1));
    if (n === 0) return this.reply('OK');
    if (data.length !== n) return this.reply('E01');
    try {
      await this.target.writeMemory(BigInt(`0x${addr}`), data);
      this.reply('OK');
    } catch {
      this.reply('E14');
    }
  }

  private async breakpointPacket(p: string): Promise<void> {
    const [type, addrHex, lenHex] = p.slice(1).split(',');
    const kind = Z_KIND[type!];
    if (!kind) return this.reply('');
    const address = BigInt(`0x${addrHex}`);
    const insert = p[0] === 'Z';
    if (kind.bp) {
      if (insert) await this.target.insertBreakpoint(address, kind.bp);
      else await this.target.removeBreakpoint(address, kind.bp);
      if (kind.bp === 'software') {
        if (insert) this.breakpoints.add(address);
        else this.breakpoints.delete(address);
      }
    } else if (insert) {
      await this.target.insertWatchpoint(address, parseInt(lenHex!, 16), kind.watch!);
    } else {
      await this.target.removeWatchpoint(address, parseInt(lenHex!, 16), kind.watch!);
    }
    this.reply('OK');
  }

  private async resume(p: string): Promise<void> {
    const at = /^c([0-9a-fA-F]+)$/.exec(p)?.[1];
    await this.target.resume(at ? { pc: BigInt(`0x${at}`) } : {});
    // Answered when the target stops; gdb's Ctrl-C meanwhile goes to interrupt().
    await this.stopped(await this.target.waitForStop());
  }

  private async step(): Promise<void> {
    await this.stopped(await this.target.step());
  }

  /** The stop as gdb wants it: pc back on a breakpoint of gdb's the target trapped past (swbreak). */
  private async stopped(stop: StopEvent): Promise<void> {
    if (stop.reason === 'exited' || stop.reason === 'terminated') {
      this.lastStop = `W${(stop.exitCode ?? 0).toString(16).padStart(2, '0')}`;
      this.reply(this.lastStop);
      this.end('the target is gone');
      return;
    }
    let extra = '';
    const offset = BigInt(this.target.breakpointPcOffset ?? 0);
    if (stop.reason === 'trap' || stop.reason === 'breakpoint') {
      const pc = (await this.target.readRegisters()).get('rip');
      if (pc !== undefined && this.breakpoints.has(pc - offset)) {
        if (offset) await (this.target.rewindPc ? this.target.rewindPc(pc - offset) : this.target.writeRegister('rip', pc - offset));
        extra = 'swbreak:;';
      }
    }
    const signal = (stop.signal ?? 5).toString(16).padStart(2, '0');
    this.lastStop = `T${signal}${extra}thread:${THREAD};`;
    this.reply(this.lastStop);
  }
}

function valueHex(value: bigint | undefined, raw: Buffer | undefined, size: number): string {
  if (value === undefined && !raw) return 'xx'.repeat(size);
  const out = Buffer.alloc(size);
  if (value !== undefined) {
    let v = BigInt.asUintN(size * 8, value);
    for (let i = 0; i < size; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  } else {
    raw!.copy(out, 0, 0, Math.min(size, raw!.length));
  }
  return out.toString('hex');
}

function leValue(bytes: Buffer): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

function xferChunk(doc: string, range: string): string {
  const [off, len] = range.split(',').map((x) => parseInt(x, 16));
  const part = doc.slice(off, off! + len!);
  return (off! + len! >= doc.length ? 'l' : 'm') + part;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
