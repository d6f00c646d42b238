import type { Command } from 'commander';
import { KdiveError } from '../../errors.js';
import { startRspRelay } from '../../proxy/rsp-relay.js';

function endpoint(text: string, what: string): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(text);
  if (!m || Number(m[2]) > 65535) throw new KdiveError(`${what}: expected HOST:PORT, not '${text}'`, 2);
  return { host: m[1]!, port: Number(m[2]) };
}

/** `kdive proxy --listen 127.0.0.1:PORT --to HOST:PORT`: a stock gdb reaches a stub through kdive. */
export function registerProxyCommand(program: Command): void {
  program
    .command('proxy')
    .description('an RSP proxy on loopback: a stock gdb attaches through kdive to a stub (one gdb at a time)')
    .requiredOption('--to <host:port>', 'the stub: QEMU gdbstub (kdive boot prints it)')
    .option('--listen <host:port>', 'where gdb connects (loopback only)', '127.0.0.1:0')
    .action(async (opts: { to: string; listen: string }) => {
      const listen = endpoint(opts.listen, '--listen');
      const to = endpoint(opts.to, '--to');
      const relay = await startRspRelay({ listenHost: listen.host, listenPort: listen.port, targetHost: to.host, targetPort: to.port, log: (l) => process.stderr.write(`kdive proxy: ${l}\n`) });
      process.stdout.write(`kdive proxy: listening on 127.0.0.1:${relay.port} for ${to.host}:${to.port}\ngdb -ex 'target remote 127.0.0.1:${relay.port}' VMLINUX\n`);
      const stop = () => void relay.close();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await relay.closed;
    });
}
