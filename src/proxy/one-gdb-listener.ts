import net from 'node:net';
import { KdiveError } from '../errors.js';
import { encodePacket } from '../target/gdb-remote/packet-codec.js';

const REFUSAL = 'another debugger is already attached through this kdive proxy; detach it first';

/**
 * Answers a second gdb with an error packet saying why, then closes it: stubs take one client
 * (gdb 13 prints E.<text> replies as "Remote failure reply: ...").
 */
export function refuseSecondGdb(client: net.Socket): void {
  client.on('error', () => {});
  client.end(Buffer.concat([Buffer.from('+'), encodePacket(`E.${REFUSAL}`)]));
}

/** Listens on a loopback address only; a port in use is one line. */
export async function listenOnLoopback(server: net.Server, host: string, port: number): Promise<number> {
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
    throw new KdiveError(`the proxy listens on loopback only, not on ${host}`);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new KdiveError(`cannot listen on ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}`)));
    server.listen(port, host, resolve);
  });
  return (server.address() as net.AddressInfo).port;
}
