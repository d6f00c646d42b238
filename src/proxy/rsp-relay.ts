import net from 'node:net';
import { listenOnLoopback, refuseSecondGdb } from './one-gdb-listener.js';

export interface RspRelayOptions {
  /** Where gdb connects: loopback only. */
  listenHost: string;
  listenPort: number;
  /** The stub (QEMU's gdbstub, a kgdb demultiplexer...). */
  targetHost: string;
  targetPort: number;
  log?: (line: string) => void;
}

export interface RspRelay {
  port: number;
  /** Resolves when the relay is closed. */
  closed: Promise<void>;
  close(): Promise<void>;
}

/**
 * An RSP relay so a stock gdb reaches a stub through kdive: bytes pass through unchanged (acks,
 * no-ack mode, Ctrl-C's 0x03 included) to one upstream connection per client. Stubs take one
 * client, so a second gdb is answered with an error packet saying why and closed.
 */
export async function startRspRelay(opts: RspRelayOptions): Promise<RspRelay> {
  const log = opts.log ?? (() => {});
  let active: net.Socket | undefined;
  const server = net.createServer((client) => {
    if (active) {
      log(`refused a second client from ${client.remoteAddress}:${client.remotePort}`);
      return refuseSecondGdb(client);
    }
    active = client;
    const upstream = net.connect(opts.targetPort, opts.targetHost);
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    log(`gdb connected from ${client.remoteAddress}:${client.remotePort}`);
    const finish = (why: string) => {
      if (active !== client) return;
      active = undefined;
      log(`session ended: ${why}`);
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', (err) => {
      log(`stub ${opts.targetHost}:${opts.targetPort}: ${err.message}`);
      finish('the stub hung up');
    });
    client.on('error', () => finish('gdb hung up'));
    upstream.on('close', () => finish('the stub closed the connection'));
    client.on('close', () => finish('gdb closed the connection'));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const port = await listenOnLoopback(server, opts.listenHost, opts.listenPort);
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  return {
    port,
    closed,
    close: async () => {
      active?.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
