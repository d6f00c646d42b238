import net from 'node:net';
import { KdiveError } from '../errors.js';
import type { ConsoleDemux } from '../transport/console-demux.js';
import { encodePacket } from '../target/gdb-remote/packet-codec.js';

/**
 * agent-proxy's job for a stock gdb: the RSP half of a kgdb serial line on its own loopback
 * port. gdb's Ctrl-C (0x03, which kgdb ignores) becomes SysRq-g (telnet BREAK + `g`), so a
 * running kernel can be stopped. One gdb at a time.
 */
export async function serveKgdbToGdb(demux: ConsoleDemux, port: number, log: (l: string) => void): Promise<net.Server> {
  let active: net.Socket | undefined;
  const server = net.createServer((client) => {
    if (active) {
      client.on('error', () => {});
      client.end(Buffer.concat([Buffer.from('+'), encodePacket('E.another debugger is already attached through this kdive proxy; detach it first')]));
      return;
    }
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new KdiveError(`cannot listen on 127.0.0.1:${port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}`)));
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}
