/**
 * kdive's DAP adapter in this process, spoken to as an editor would: framed requests in, framed
 * responses and events out, collected in order.
 */
import { PassThrough } from 'node:stream';
import { KdiveDebugSession } from '../../src/dap/kdive-debug-session.js';

export type DapMessage = { type: string; seq?: number; command?: string; event?: string; body?: unknown; success?: boolean; message?: string; request_seq?: number };

/** DAP's framing: Content-Length header, blank line, JSON. */
function frame(msg: object): string {
  const json = JSON.stringify(msg);
  return `Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
}

export class InProcessAdapter {
  private readonly input = new PassThrough();
  private readonly output = new PassThrough();
  private buffer = Buffer.alloc(0);
  private seq = 1;
  readonly received: DapMessage[] = [];
  private waiters: (() => void)[] = [];

  constructor() {
    const adapter = new KdiveDebugSession();
    adapter.start(this.input, this.output);
    this.output.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (;;) {
        const head = this.buffer.indexOf('\r\n\r\n');
        if (head < 0) return;
        const length = Number(/Content-Length: (\d+)/.exec(this.buffer.subarray(0, head).toString())?.[1]);
        if (this.buffer.length < head + 4 + length) return;
        this.received.push(JSON.parse(this.buffer.subarray(head + 4, head + 4 + length).toString()) as DapMessage);
        this.buffer = this.buffer.subarray(head + 4 + length);
        for (const w of this.waiters.splice(0)) w();
      }
    });
  }

  /** Sends a request and waits for its response (and, when named, an event after it: one of them, given several). */
  async request(command: string, args: object = {}, thenEvent?: string | string[]): Promise<DapMessage[]> {
    const events = thenEvent === undefined ? undefined : [thenEvent].flat();
    const seq = this.seq++;
    const from = this.received.length;
    this.input.write(frame({ seq, type: 'request', command, arguments: args }));
    const done = () => {
      const got = this.received.slice(from);
      const response = got.some((m) => m.type === 'response' && m.request_seq === seq);
      return response && (!events || got.some((m) => m.type === 'event' && events.includes(m.event!)));
    };
    const deadline = Date.now() + 20_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`no answer to ${command}: ${JSON.stringify(this.received.slice(from))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200).unref();
      });
    }
    return this.received.slice(from);
  }
}

