import net from 'node:net';
import { EventEmitter } from 'node:events';
import { KdiveError } from '../errors.js';

import { parseQmpLine, type QmpEvent, type QmpVersion } from './qmp-message.js';

export type { QmpEvent } from './qmp-message.js';

/** QMP answered a command with an error; `message` carries QMP's own `desc`. */
export class QmpError extends KdiveError {
  constructor(readonly command: string, readonly errorClass: string, readonly desc: string) {
    super(`QMP ${command}: ${desc}`);
  }
}

export interface QmpConnectOptions {
  /** Give up after this long (the socket may not exist yet while QEMU starts). Default 10 s. */
  timeoutMs?: number;
  /** Stop retrying (QEMU died). */
  signal?: AbortSignal;
}

/**
 * A QMP client over QEMU's unix socket: JSON lines, ids for replies, events as they come.
 * Events are emitted twice: as 'event' (any) and under their own name ('STOP', 'RESUME',
 * 'SHUTDOWN', 'GUEST_PANICKED'...), with the whole QmpEvent as argument. 'close' when the
 * connection ends.
 */
export class QmpClient extends EventEmitter {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<number, { command: string; resolve(v: unknown): void; reject(e: Error): void }>();
  /** The greeting's QEMU version, e.g. { major: 7, minor: 2, micro: 0 }. */
  version: QmpVersion | undefined;
  private closed = false;

  private constructor(private readonly socket: net.Socket) {
    super();
    socket.on('data', (d: Buffer) => this.onData(d.toString('utf8')));
    socket.on('close', () => this.onClose());
    socket.on('error', () => this.onClose());
  }

  /** Connects, reads the greeting and leaves capabilities negotiation mode. */
  static async connect(socketPath: string, options: QmpConnectOptions | number = {}): Promise<QmpClient> {
    const opts = typeof options === 'number' ? { timeoutMs: options } : options;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (opts.signal?.aborted) throw new KdiveError(`cannot talk QMP on ${socketPath}: gave up (${String(opts.signal.reason ?? 'aborted')})`);
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(socketPath);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        const client = new QmpClient(socket);
        try {
          await client.greeting(Math.max(1000, deadline - Date.now()));
          await client.execute('qmp_capabilities', undefined, Math.max(1000, deadline - Date.now()));
        } catch (err) {
          client.close();
          throw err;
        }
        return client;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if ((code === 'ENOENT' || code === 'ECONNREFUSED') && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        throw new KdiveError(`cannot talk QMP on ${socketPath}: ${(err as Error).message}`);
      }
    }
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 30_000): Promise<T> {
    if (this.closed) return Promise.reject(new KdiveError(`QMP ${command}: QEMU is gone`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new KdiveError(`QMP ${command}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        command,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  /** An HMP command line (savevm, info registers...); HMP reports errors as text, not as QMP errors. */
  humanMonitorCommand(commandLine: string): Promise<string> {
    return this.execute<string>('human-monitor-command', { 'command-line': commandLine });
  }

  close(): void {
    this.socket.destroy();
    this.onClose();
  }

  private greetingWaiter: ((err?: Error) => void) | undefined;

  private greeting(timeoutMs: number): Promise<void> {
    if (this.version) return Promise.resolve();
    if (this.closed) return Promise.reject(new Error('QEMU closed the connection before its greeting'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no QMP greeting')), timeoutMs);
      this.greetingWaiter = (err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
    });
  }

  private onData(text: string): void {
    this.buffer += text;
    for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (!line) continue;
      const msg = parseQmpLine(line);
      if (msg?.kind === 'greeting') {
        this.version = msg.version;
        this.greetingWaiter?.();
        this.greetingWaiter = undefined;
      } else if (msg?.kind === 'event') {
        this.emit('event', msg.event);
        this.emit(msg.event.event, msg.event);
      } else if (msg) {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (!p) continue;
        if (msg.kind === 'error') p.reject(new QmpError(p.command, msg.errorClass, msg.desc));
        else p.resolve(msg.value);
      }
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.greetingWaiter?.(new Error('QEMU closed the connection before its greeting'));
    this.greetingWaiter = undefined;
    for (const p of this.pending.values()) p.reject(new KdiveError(`QMP ${p.command}: QEMU closed the connection`));
    this.pending.clear();
    this.emit('close');
  }
}
