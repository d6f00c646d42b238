import net from 'node:net';
import { KdiveError } from '../errors.js';
import { KdiveDebugSession } from './kdive-debug-session.js';

/**
 * Runs the adapter over stdin/stdout. stdout carries only DAP messages: anything else that would
 * print there (console.log from a library) is sent to stderr instead.
 */
export function runDapOnStdio(): void {
  console.log = (...args: unknown[]) => process.stderr.write(`${args.map(String).join(' ')}\n`);
  const session = new KdiveDebugSession();
  session.on('error', (err: unknown) => process.stderr.write(`kdive dap: ${String(err)}\n`));
  session.start(process.stdin, process.stdout);
}

/** `--port`: one adapter per connection on 127.0.0.1. */
export async function runDapServer(port: number): Promise<net.Server> {
  const server = net.createServer((socket) => {
    const session = new KdiveDebugSession();
    session.setRunAsServer(true);
    session.start(socket, socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new KdiveError(`cannot listen on 127.0.0.1:${port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}`)));
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}
