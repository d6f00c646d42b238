import net from 'node:net';
import type { ConsoleDemux } from '../transport/console-demux.js';
import { listenOnLoopback, refuseSecondGdb } from './one-gdb-listener.js';

/**
 * agent-proxy's job for a stock gdb: the RSP half of a kgdb serial line on its own loopback
 * port. gdb's Ctrl-C (0x03, which kgdb ignores) becomes SysRq-g (telnet BREAK + `g`), so a
 * running kernel can be stopped. One gdb at a time.
 */
export async function serveKgdbToGdb(demux: ConsoleDemux, port: number, log: (l: string) => void): Promise<net.Server> {
  let active: net.Socket | undefined;
  const server = net.createServer((client) => {
    if (active) return refuseSecondGdb(client);
    active = client;
    client.setNoDelay(true);
    log(`gdb connected from ${client.remoteAddress}:${client.remotePort}`);
    const toGdb = (d: Buffer) => client.write(d);
    demux.rsp.on('data', toGdb);
    client.on('data', (d: Buffer) => {
      const interrupt = d.indexOf(0x03);
      if (interrupt >= 0) {
        demux.breakIn();
        d = Buffer.concat([d.subarray(0, interrupt), d.subarray(interrupt + 1)]);
      }
      if (d.length) demux.rsp.write(d);
    });
    const end = () => {
      if (active !== client) return;
      active = undefined;
      demux.rsp.off('data', toGdb);
      log('gdb disconnected');
    };
    client.on('close', end);
    client.on('error', end);
  });
  await listenOnLoopback(server, '127.0.0.1', port);
  return server;
}
