import net from 'node:net';
import { KdiveError } from '../errors.js';

/**
 * Connects to host:port, retrying while nothing listens yet (QEMU opens its gdbstub a moment
 * after it starts), until `retryUntilMs` has passed.
 */
export async function connectTcp(host: string, port: number, opts: { timeoutMs?: number; retryUntilMs?: number } = {}): Promise<net.Socket> {
  const deadline = Date.now() + (opts.retryUntilMs ?? 0);
  for (;;) {
    try {
      return await connectOnce(host, port, opts.timeoutMs ?? 5000);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ECONNREFUSED' || code === 'ECONNRESET') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      throw new KdiveError(`cannot connect to ${host}:${port}: ${(err as Error).message}`);
    }
  }
}

function connectOnce(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
