import type { Command } from 'commander';
import { KdiveError } from '../../errors.js';
import { portOf } from './flag-values.js';
import { startRspRelay } from '../../proxy/rsp-relay.js';
import { startRspTargetServer } from '../../proxy/rsp-target-server.js';
import { KdpTarget } from '../../target/kdp/kdp-target.js';
import { KDP_REMOTE_PORT } from '../../target/kdp/kdp-packet.js';

function endpoint(text: string, what: string, defaultPort?: number): { host: string; port: number } {
  const m = /^([^:]+)(?::([^:]*))?$/.exec(text);
  if (!m || (m[2] === undefined && defaultPort === undefined)) throw new KdiveError(`${what}: expected HOST:PORT, not '${text}'`, 2);
  return { host: m[1]!, port: m[2] === undefined ? defaultPort! : portOf(what, text, m[2], what === '--listen') };
}

/**
 * `kdive proxy --to HOST:PORT` relays a stub's RSP to a stock gdb; `kdive proxy --kdp HOST[:PORT]`
 * speaks KDP to an XNU kernel itself and serves gdb the RSP it lacks.
 */
export function registerProxyCommand(program: Command): void {
  program
    .command('proxy')
    .description('an RSP proxy on loopback for a stock gdb (one at a time): relays a stub (--to), or speaks KDP to an XNU kernel (--kdp)')
    .option('--to <host:port>', 'the stub: QEMU gdbstub (kdive boot prints it), kgdb through kdive boot, any gdbserver')
    .option('--kdp <host[:port]>', `an XNU kernel waiting in its debugger (KDP over UDP, port ${KDP_REMOTE_PORT} by default)`)
    .option('--listen <host:port>', 'where gdb connects (loopback only)', '127.0.0.1:0')
    .action(async (opts: { to?: string; kdp?: string; listen: string }) => {
      if (!opts.to === !opts.kdp) throw new KdiveError('proxy: give one of --to HOST:PORT (an RSP stub) or --kdp HOST[:PORT] (an XNU kernel)', 2);
      const listen = endpoint(opts.listen, '--listen');
      const log = (l: string) => process.stderr.write(`kdive proxy: ${l}\n`);
      if (opts.to) {
        const to = endpoint(opts.to, '--to');
        const relay = await startRspRelay({ listenHost: listen.host, listenPort: listen.port, targetHost: to.host, targetPort: to.port, log });
        process.stdout.write(`kdive proxy: listening on 127.0.0.1:${relay.port} for ${to.host}:${to.port}\ngdb -ex 'target remote 127.0.0.1:${relay.port}' VMLINUX\n`);
        const stop = () => void relay.close();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        await relay.closed;
        return;
      }
      const kdp = endpoint(opts.kdp!, '--kdp', KDP_REMOTE_PORT);
      const target = await KdpTarget.connect({ host: kdp.host, port: kdp.port, log: process.env.KDIVE_DEBUG ? log : undefined });
      let server;
      try {
        server = await startRspTargetServer(target, { listenHost: listen.host, listenPort: listen.port, log });
      } catch (err) {
        // The listen error above is what is reported; the kernel is let go as well as it can be.
        await target.detach().catch(() => target.close());
        throw err;
      }
      process.stdout.write(`kdive proxy: KDP ${kdp.host}:${kdp.port}: ${target.info.kernelVersion}\n`
        + `kdive proxy: listening on 127.0.0.1:${server.port}; when gdb detaches or hangs up, kdive detaches from the kernel\n`
        + `gdb -ex 'target remote 127.0.0.1:${server.port}' KERNEL\n`);
      const stop = () => void server.close();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await server.done;
    });
}
