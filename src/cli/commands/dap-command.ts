import { Option, type Command } from 'commander';
import type { AddressInfo } from 'node:net';
import { tcpPort } from './flag-values.js';

/** `kdive dap [--port N]`: the Debug Adapter Protocol server for editors (docs/vscode.md). */
export function registerDapCommand(program: Command): void {
  program
    .command('dap')
    .description('a Debug Adapter Protocol server on stdio (or --port on 127.0.0.1) for editors such as VS Code')
    .addOption(new Option('--port <n>', 'listen on 127.0.0.1:N instead of stdio (0: a free port)').argParser(tcpPort('--port', true)))
    .action(async (opts: { port?: number }) => {
      // Loaded here: the adapter and @vscode/debugadapter are no part of the other commands' start-up.
      const { runDapOnStdio, runDapServer } = await import('../../dap/dap-server.js');
      if (opts.port === undefined) {
        runDapOnStdio();
        await new Promise(() => {}); // the session ends the process (disconnect, stdin closed)
      }
      const server = await runDapServer(opts.port!);
      process.stderr.write(`kdive dap: listening on 127.0.0.1:${(server.address() as AddressInfo).port}\n`);
      await new Promise(() => {});
    });
}
