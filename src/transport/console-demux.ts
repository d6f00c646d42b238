import { Duplex } from 'node:stream';

const IAC = 0xff;
const SB = 0xfa;
const SE = 0xf0;
const BREAK = 0xf3;

/**
 * One serial line carrying both the kernel console and kgdb's RSP (what agent-proxy splits):
 * telnet negotiation is stripped, `$...#xx` packets and the acks that answer ours go to the
 * RSP side (a Duplex the RSP client reads and writes), everything else is console text.
 */
export class ConsoleDemux {
  /** The RSP side: what GdbRemoteTarget.connect() is given. */
  readonly rsp: Duplex;
  private packet: number[] | undefined;
  private telnet: 'data' | 'iac' | 'option' | 'sub' | 'sub-iac' = 'data';
  /** Acks (`+`/`-`) are RSP only while kgdb owes one for a packet we sent. */
  private acksOwed = 0;
  private readonly consoleListeners: ((text: string) => void)[] = [];
  private consoleText = '';

  constructor(private readonly writeLine: (bytes: Buffer) => void) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    this.rsp = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, done) {
        for (const b of chunk) if (b === 0x24) self.acksOwed++; // each `$` we send is acked
        self.writeLine(escapeIac(chunk));
        done();
      },
    });
  }

  onConsole(listener: (text: string) => void): void {
    this.consoleListeners.push(listener);
  }

  /** Everything the console side has printed. */
  text(): string {
    return this.consoleText;
  }

  /** A telnet BREAK then `g`: SysRq-g, how a running kgdb kernel is stopped. */
  breakIn(): void {
    this.writeLine(Buffer.from([IAC, BREAK]));
    setTimeout(() => this.writeLine(Buffer.from('g')), 100).unref();
  }

  /** Feeds bytes read from the line. */
  push(data: Buffer): void {
    let console: number[] = [];
    const flushConsole = () => {
      if (console.length === 0) return;
      const text = Buffer.from(console).toString('latin1');
      console = [];
      this.consoleText += text;
      for (const l of this.consoleListeners) l(text);
    };
    for (const b of data) {
      // Telnet: IAC IAC is a literal 0xff; IAC WILL/WONT/DO/DONT x and IAC SB ... IAC SE are not data.
      if (this.telnet === 'iac') {
        if (b === IAC) this.telnet = 'data';
        else {
          this.telnet = b >= 0xfb ? 'option' : b === SB ? 'sub' : 'data';
          continue;
        }
      } else if (this.telnet === 'option') {
        this.telnet = 'data';
        continue;
      } else if (this.telnet === 'sub' || this.telnet === 'sub-iac') {
        this.telnet = b === IAC ? 'sub-iac' : this.telnet === 'sub-iac' && b === SE ? 'data' : 'sub';
        continue;
      } else if (b === IAC) {
        this.telnet = 'iac';
        continue;
      }
      if (this.packet) {
        this.packet.push(b);
        const n = this.packet.length;
        if (b === 0x0a || n > 4096) {
          // Not a packet after all (a `$` in console text): give it back to the console.
          console.push(...this.packet);
          this.packet = undefined;
        } else if (n >= 4 && this.packet[n - 3] === 0x23) {
          flushConsole();
          this.rsp.push(Buffer.from(this.packet));
          this.packet = undefined;
        }
      } else if (b === 0x24) {
        this.packet = [b];
      } else if ((b === 0x2b || b === 0x2d) && this.acksOwed > 0) {
        this.acksOwed--;
        flushConsole();
        this.rsp.push(Buffer.from([b]));
      } else console.push(b);
    }
    flushConsole();
  }
}

function escapeIac(chunk: Buffer): Buffer {
  if (!chunk.includes(IAC)) return chunk;
  const out: number[] = [];
  for (const b of chunk) {
    out.push(b);
    if (b === IAC) out.push(IAC);
  }
  return Buffer.from(out);
}
