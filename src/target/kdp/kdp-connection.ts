import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { randomInt } from 'node:crypto';
import { TargetError, TargetTimeoutError } from '../target-error.js';
import {
  KDP_HEADER_SIZE, KdpRequest, decodeExceptionBody, decodeKdpHeader, encodeKdpPacket, exceptionAck,
  kdpRequestName, type KdpExceptionInfo,
} from './kdp-packet.js';

export interface KdpConnectionOptions {
  /** How long one try waits for its reply. */
  timeoutMs?: number;
  /** Tries per request (LLDB: 3); a repeated request is safe, the target resends its saved reply. */
  tries?: number;
  log?: (line: string) => void;
}

/**
 * One UDP conversation with a KDP target: requests one at a time with the sequence numbers the
 * target expects (§3.4), retries, replies matched by request, seq and session key, and the
 * target's EXCEPTION notifications acknowledged as they arrive (a repeat, sent because an ack was
 * lost, is acknowledged again but reported once). Replies and notifications share one local port.
 */
export class KdpConnection {
  private seq = 0;
  readonly key = randomInt(1, 0x7fffffff);
  private pending: { request: number; seq: number; resolve: (body: Buffer) => void } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private lastExceptionSeq: number | undefined;
  private closedReason: string | undefined;
  /** Wakes the request waiting for its reply when the connection fails. */
  private closeWaiter: (() => void) | undefined;
  private socketClosed = false;
  private onException: ((infos: KdpExceptionInfo[]) => void) | undefined;
  readonly name: string;

  private constructor(private readonly socket: dgram.Socket, readonly host: string, readonly port: number, private readonly opts: KdpConnectionOptions) {
    this.name = `KDP ${host.includes(':') ? `[${host}]` : host}:${port}`;
    socket.on('message', (msg) => this.receive(msg));
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(err.code === 'ECONNREFUSED' ? 'nothing listens there (ICMP port unreachable)' : err.message));
  }

  /** Opens a socket for the target at host:port; for a loopback target it is bound to loopback only. */
  static async open(host: string, port: number, opts: KdpConnectionOptions = {}): Promise<KdpConnection> {
    const family = isIP(host) === 6 || host === 'localhost6' ? 'udp6' : 'udp4';
    const socket = dgram.createSocket(family);
    const loopback = host === 'localhost' || host === '::1' || host.startsWith('127.');
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ port: 0, address: loopback ? (family === 'udp6' ? '::1' : '127.0.0.1') : undefined }, () => {
          socket.connect(port, host === 'localhost' ? '127.0.0.1' : host, () => {
            socket.off('error', reject);
            resolve();
          });
        });
      });
    } catch (err) {
      socket.close();
      throw new TargetError(`KDP ${host}:${port}: ${(err as Error).message}`);
    }
    return new KdpConnection(socket, host, port, opts);
  }

  /** Our UDP port: the reply and exception-notification port CONNECT announces. */
  get localPort(): number {
    return this.socket.address().port;
  }

  /** Where EXCEPTION notifications go (already acknowledged, repeats removed). */
  setExceptionListener(listener: (infos: KdpExceptionInfo[]) => void): void {
    this.onException = listener;
  }

  /** Starts the sequence again (before CONNECT, which the target takes only with seq 0). The key is ours for the session: the target stores CONNECT's and echoes it in every reply. */
  resetSequence(): void {
    this.seq = 0;
  }

  /**
   * Sends one request and resolves with its reply's body (after the header). Requests are
   * serialised: the target handles one sequence number at a time.
   */
  request(request: number, body?: Buffer, opts: { tries?: number; timeoutMs?: number } = {}): Promise<Buffer> {
    const run = this.queue.then(() => this.send(request, body, opts));
    this.queue = run.catch(() => undefined); // the queue only orders requests: `run`'s own caller gets its error
    return run;
  }

  close(): void {
    this.fail('connection closed');
    if (this.socketClosed) return;
    this.socketClosed = true;
    this.socket.close();
  }


  private async send(request: number, body: Buffer | undefined, opts: { tries?: number; timeoutMs?: number }): Promise<Buffer> {
    const what = `${this.name}: ${kdpRequestName(request)}`;
    if (this.closedReason) throw new TargetError(`${what}: ${this.closedReason}`);
    const seq = this.seq;
    const packet = encodeKdpPacket({ request, isReply: false, seq, key: this.key }, body);
    const tries = opts.tries ?? this.opts.tries ?? 3;
    const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs ?? 1000;
    for (let attempt = 1; attempt <= tries; attempt++) {
      const reply = await new Promise<Buffer | 'timeout' | 'closed'>((resolve) => {
        const timer = setTimeout(() => resolve('timeout'), timeoutMs);
        this.pending = {
          request, seq,
          resolve: (b) => {
            clearTimeout(timer);
            resolve(b);
          },
        };
        this.closeWaiter = () => {
          clearTimeout(timer);
          resolve('closed');
        };
        this.socket.send(packet, (err) => err && this.fail(err.message));
      });
      this.pending = undefined;
      this.closeWaiter = undefined;
      if (reply === 'closed') throw new TargetError(`${what}: ${this.closedReason}`);
      if (reply !== 'timeout') {
        this.seq = (seq + 1) & 0xff;
        return reply;
      }
      if (attempt < tries) this.opts.log?.(`${what} (seq ${seq}): no reply in ${timeoutMs} ms, sending it again`);
    }
    throw new TargetTimeoutError(what, timeoutMs * tries);
  }

  private fail(reason: string): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    this.closeWaiter?.();
  }

  private receive(msg: Buffer): void {
    const h = decodeKdpHeader(msg);
    if (typeof h === 'string') {
      this.opts.log?.(`${this.name}: dropped: ${h}`);
      return;
    }
    if (h.length !== msg.length) {
      this.opts.log?.(`${this.name}: dropped ${kdpRequestName(h.request)}: its header says ${h.length} bytes, the datagram has ${msg.length}`);
      return;
    }
    const body = msg.subarray(KDP_HEADER_SIZE, h.length);
    if (!h.isReply) {
      if (h.request !== KdpRequest.EXCEPTION) {
        this.opts.log?.(`${this.name}: dropped a ${kdpRequestName(h.request)} request from the target`);
        return;
      }
      const infos = decodeExceptionBody(body);
      if (typeof infos === 'string') {
        this.opts.log?.(`${this.name}: dropped: ${infos}`);
        return;
      }
      this.socket.send(exceptionAck(msg));
      if (h.seq === this.lastExceptionSeq) {
        this.opts.log?.(`${this.name}: EXCEPTION seq ${h.seq} again (our ack was lost): acknowledged again`);
        return;
      }
      this.lastExceptionSeq = h.seq;
      this.onException?.(infos);
      return;
    }
    const p = this.pending;
    if (!p || p.request !== h.request || p.seq !== h.seq || h.key !== this.key) {
      this.opts.log?.(`${this.name}: dropped a stale or foreign ${kdpRequestName(h.request)} reply (seq ${h.seq})`);
      return;
    }
    p.resolve(body);
  }
}
