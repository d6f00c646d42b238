import net from 'node:net';
import { KdiveError } from '../errors.js';

/**
 * Connects to host:port, retrying while nothing listens yet (QEMU opens its gdbstub a moment
 * after it starts), until `retryUntilMs` has passed.
 */
export function connectTcp(host: string, port: number, opts: { timeoutMs?: number; retryUntilMs?: number } = {}): Promise<net.Socket> {
  return connectStream({ host, port }, `${host}:${port}`, opts);
}

/** The same for a unix socket (a QEMU chardev in a private run folder), retrying while it is not there yet. */
export function connectUnix(path: string, opts: { timeoutMs?: number; retryUntilMs?: number } = {}): Promise<net.Socket> {
  return connectStream({ path }, path, opts);
}

async function connectStream(to: net.NetConnectOpts, name: string, opts: { timeoutMs?: number; retryUntilMs?: number }): Promise<net.Socket> {
  const deadline = Date.now() + (opts.retryUntilMs ?? 0);
  for (;;) {
    try {
      return await connectOnce(to, opts.timeoutMs ?? 5000);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ENOENT') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      throw new KdiveError(`cannot connect to ${name}: ${(err as Error).message}`);
    }
  }
}

function connectOnce(to: net.NetConnectOpts, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(to);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      if ('port' in to) socket.setNoDelay(true);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
