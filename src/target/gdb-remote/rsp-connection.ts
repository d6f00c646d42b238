import type { Duplex } from 'node:stream';
import { ConnectionClosedError, TargetError, TargetTimeoutError } from '../target-error.js';
import { PacketDecoder, decodeHex, encodePacket } from './packet-codec.js';

export interface RspConnectionOptions {
  /** Default time to wait for a reply. */
  timeoutMs?: number;
  /** The largest packet we accept from the stub before dropping it as garbage. */
  maxPacket?: number;
  /** Protocol trace (one line per packet), for `--log`/debugging. */
  log?: (line: string) => void;
  /** Where the connection leads, for error messages ("127.0.0.1:1234"). */
  name?: string;
}

/** Stop replies: S, T (stop), W, X (exit). They are events, not answers to whatever we asked last. */
export function isStopReply(payload: string): boolean {
  return /^(S[0-9a-fA-F]{2}|T[0-9a-fA-F]{2}|W[0-9a-fA-F]{2}|X[0-9a-fA-F]{2})/.test(payload);
}

interface Pending {
  wantsStop: boolean;
  /** Replies this request cannot have: dropped as strays while it waits (resynchronising). */
  accept?: (payload: string) => boolean;
  resolve(payload: string): void;
  reject(err: Error): void;
}

const MAX_RESENDS = 3;

/**
 * One RSP connection: framing, acks, resends, request/reply pairing, and the queue of
 * asynchronous stop replies. Requests are serialised; stop replies that nobody asked
 * for (QEMU 7.2 sends one when a client connects) go to the stop queue.
 */
export class RspConnection {
  private readonly decoder: PacketDecoder;
  /** Requests sent and not yet answered, oldest first (several only when pipelining). */
  private pending: Pending[] = [];
  private readonly stopQueue: string[] = [];
  private readonly stopWaiters: { resolve(p: string): void; reject(e: Error): void }[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private lastSent: Buffer | undefined;
  private resends = 0;
  private closedError: Error | undefined;
  private readonly consoleListeners: ((text: string) => void)[] = [];
  readonly timeoutMs: number;
  readonly name: string;
  /**
   * Whether we answer each good packet with `+`. kgdb waits for it; QEMU does not, and a `+` that
   * reaches QEMU while the VM runs stops the VM (any byte does), so with requests in flight the
   * ack of one reply must not trail behind a resume: the QEMU profile turns acks off.
   */
  sendAcks = true;

  constructor(private readonly stream: Duplex, private readonly opts: RspConnectionOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.name = opts.name ?? 'debug stub';
    this.decoder = new PacketDecoder(opts.maxPacket ?? 1 << 20);
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    const onGone = (err?: Error) => this.onClosed(err);
    stream.on('close', () => onGone());
    stream.on('end', () => onGone());
    stream.on('error', (err) => onGone(err));
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Calls `listener` with the text of each `O` packet; returns a function that stops it. */
  onConsole(listener: (text: string) => void): () => void {
    this.consoleListeners.push(listener);
    return () => {
      const i = this.consoleListeners.indexOf(listener);
      if (i >= 0) this.consoleListeners.splice(i, 1);
    };
  }

  /** Sends a packet and resolves with the reply's payload (latin1). */
  request(payload: string | Buffer, opts: { timeoutMs?: number; wantsStop?: boolean; accept?: (payload: string) => boolean } = {}): Promise<string> {
    const run = () => this.exchange(payload, opts.wantsStop ?? false, opts.timeoutMs ?? this.timeoutMs, opts.accept);
    const result = this.chain.then(run, run);
    this.chain = result.catch(() => {}); // the chain only orders packets: the caller awaiting `result` gets its error
    return result;
  }

  /**
   * Several requests in flight at once (up to `window`), replies matched in order. For memory
   * reads: a stub answers packets in the order it got them, so the round trips overlap.
   */
  requestMany(
    payloads: (string | { payload: string; wantsStop: boolean })[],
    window = 8,
    timeoutMs = this.timeoutMs,
    /** A packet with no reply (`vCont;c`) written right behind the last request. */
    thenSend?: string,
  ): Promise<string[]> {
    const run = async () => {
      this.ensureOpen();
      const replies: string[] = new Array(payloads.length);
      let next = 0;
      let done = 0;
      await new Promise<void>((resolve, reject) => {
        let failed = false;
        const timer = setTimeout(() => fail(new TargetTimeoutError(`${this.name}: ${payloads.length} pipelined requests`, timeoutMs)), timeoutMs);
        const fail = (e: Error) => {
          if (failed) return;
          failed = true;
          clearTimeout(timer);
          this.pending = [];
          reject(e);
        };
        // Refill in batches: once half the window has been answered, the next half leaves in one
        // write (one system call for several packets, the stub never runs dry).
        const refillAt = Math.max(0, Math.floor(window / 2));
        let inFlight = 0;
        const sendBatch = (count: number) => {
          const frames: Buffer[] = [];
          for (let k = 0; k < count && next < payloads.length; k++) {
            const index = next++;
            const item = payloads[index]!;
            inFlight++;
            this.pending.push({
              wantsStop: typeof item === 'string' ? false : item.wantsStop,
              resolve: (p) => {
                replies[index] = p;
                inFlight--;
                if (++done === payloads.length) {
                  clearTimeout(timer);
                  resolve();
                } else if (next < payloads.length && inFlight <= refillAt) sendBatch(window - inFlight);
              },
              reject: fail,
            });
            frames.push(encodePacket(typeof item === 'string' ? item : item.payload));
          }
          if (frames.length === 0) return;
          this.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames), true);
          if (thenSend !== undefined && next === payloads.length) this.write(encodePacket(thenSend), false);
        };
        sendBatch(Math.min(window, payloads.length));
        if (payloads.length === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
      return replies;
    };
    const result = this.chain.then(run, run);
    this.chain = result.catch(() => {}); // the chain only orders packets: the caller awaiting `result` gets its error
    return result;
  }

  /** Sends a packet that has no immediate reply (`c`, `vCont;c`, `D` on some stubs). */
  send(payload: string | Buffer): Promise<void> {
    const run = async () => {
      this.ensureOpen();
      this.write(encodePacket(payload), true);
    };
    const result = this.chain.then(run, run);
    this.chain = result.catch(() => {}); // the chain only orders packets: the caller awaiting `result` gets its error
    return result;
  }

  /** Raw bytes outside any packet: 0x03 to interrupt, a telnet BREAK. */
  sendRaw(bytes: Buffer): void {
    this.ensureOpen();
    this.log(`-> raw ${bytes.toString('hex')}`);
    this.stream.write(bytes);
  }

  /** The next stop reply: queued ones first. */
  waitForStop(signal?: AbortSignal): Promise<string> {
    const queued = this.stopQueue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (p: string) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(p);
        },
        reject: (e: Error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = () => {
        const i = this.stopWaiters.indexOf(waiter);
        if (i >= 0) this.stopWaiters.splice(i, 1);
        reject(signal!.reason instanceof Error ? signal!.reason : new TargetError('wait for stop aborted'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.stopWaiters.push(waiter);
    });
  }

  /**
   * Back in step with a stub that sent a reply nobody asked for while a request waited (so each
   * request since got the reply of the one before): asks `qC` and drops every reply until its
   * answer (`QC…`) comes. Throws a timeout when the stub never gives one.
   */
  async resynchronise(): Promise<void> {
    this.log('resynchronising: dropping replies until the answer to qC');
    await this.request('qC', { accept: (p) => p.startsWith('QC') });
  }

  /** Drops stop replies nobody has asked for yet (the unsolicited one at connect). */
  drainStops(): string[] {
    return this.stopQueue.splice(0);
  }

  close(): void {
    this.stream.destroy();
    this.onClosed();
  }

  private async exchange(payload: string | Buffer, wantsStop: boolean, timeoutMs: number, accept?: (payload: string) => boolean): Promise<string> {
    this.ensureOpen();
    return new Promise<string>((resolve, reject) => {
      const what = typeof payload === 'string' ? payload.slice(0, 40) : `${payload.length}-byte packet`;
      const timer = setTimeout(() => {
        this.pending = [];
        reject(new TargetTimeoutError(`${this.name}: '${what}'`, timeoutMs));
      }, timeoutMs);
      this.pending.push({
        wantsStop,
        accept,
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.write(encodePacket(payload), true);
    });
  }

  private write(frame: Buffer, remember: boolean): void {
    if (remember) {
      this.lastSent = frame;
      this.resends = 0;
    }
    this.log(`-> ${frame.toString('latin1', 0, Math.min(frame.length, 200))}`);
    this.stream.write(frame);
  }

  private onData(chunk: Buffer): void {
    // Replies that arrive together may each send the next pipelined request: corked, those
    // requests leave in one write instead of one system call apiece.
    this.stream.cork();
    try {
      this.onEvents(chunk);
    } finally {
      this.stream.uncork();
    }
  }

  private onEvents(chunk: Buffer): void {
    for (const ev of this.decoder.feed(chunk)) {
      switch (ev.type) {
        case 'ack':
        case 'interrupt':
          break;
        case 'nak':
          // The stub got our last packet garbled: send it again, a few times at most.
          if (this.lastSent && this.resends < MAX_RESENDS) {
            this.resends++;
            this.log('<- nak: resending');
            this.stream.write(this.lastSent);
          }
          break;
        case 'bad-checksum':
          this.log(`<- bad checksum (expected ${ev.expected.toString(16)}, got ${ev.got.toString(16)})`);
          this.stream.write('-');
          break;
        case 'oversize':
          this.log(`<- dropped an oversize packet (${ev.length} bytes)`);
          break;
        case 'stray':
          this.log(`<- ignored ${ev.bytes.length} stray bytes`);
          break;
        case 'packet':
          if (this.sendAcks) this.stream.write('+');
          this.onPacket(ev.payload.toString('latin1'));
          break;
      }
    }
  }

  private onPacket(payload: string): void {
    this.log(`<- ${payload.length > 200 ? `${payload.slice(0, 200)}…` : payload}`);
    // Console output (kgdbcon, qRcmd output) is never a reply.
    // Whole hex pairs only: an odd `OC` is no output, and decoding it threw out of the socket handler.
    if (payload.length > 1 && payload[0] === 'O' && payload !== 'OK' && /^O(?:[0-9a-fA-F]{2})+$/.test(payload)) {
      const text = decodeHex(payload.slice(1)).toString('utf8');
      for (const l of this.consoleListeners) l(text);
      return;
    }
    if (isStopReply(payload) && !this.pending[0]?.wantsStop) {
      const waiter = this.stopWaiters.shift();
      if (waiter) waiter.resolve(payload);
      else this.stopQueue.push(payload);
      return;
    }
    if (this.pending[0]?.accept && !this.pending[0].accept(payload)) {
      this.log(`<- stray reply dropped while resynchronising: ${payload.slice(0, 60)}`);
      return;
    }
    const pending = this.pending.shift();
    if (pending) pending.resolve(payload);
    else this.log(`<- unexpected packet ignored: ${payload.slice(0, 60)}`);
  }

  private onClosed(err?: Error): void {
    if (this.closedError) return;
    this.closedError = new ConnectionClosedError(`${this.name}${err ? ` (${err.message})` : ''}`);
    for (const p of this.pending.splice(0)) p.reject(this.closedError);
    for (const w of this.stopWaiters.splice(0)) w.reject(this.closedError);
  }

  private ensureOpen(): void {
    if (this.closedError) throw this.closedError;
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }
}
