#!/usr/bin/env node
/**
 * The `kdive` command. Each command lives in its own file under commands/ and is
 * registered here; this file only owns the program and the one-line error policy.
 */
import { Command, CommanderError } from 'commander';
import { KdiveError } from '../errors.js';
import { registerRunCommands } from './commands/run-command.js';
import { registerInitramfsCommand } from './commands/initramfs-command.js';
import { registerKernelCommand } from './commands/kernel-command.js';
import { normalizeSymArgs, registerSymCommand } from './commands/sym-command.js';
import { registerDebugCommand } from './commands/debug-command.js';
import { registerBootCommand } from './commands/boot-command.js';
import { registerProxyCommand } from './commands/proxy-command.js';
import { registerDapCommand } from './commands/dap-command.js';
import { registerImageCommand } from './commands/image-command.js';
import { registerSnapshotCommand } from './commands/snapshot-command.js';
import { registerSymbolizeCommand } from './commands/symbolize-command.js';
import { registerLibvirtCommand } from './commands/libvirt-command.js';
import { registerQemuCommand } from './commands/qemu-command.js';

async function main(argv: string[]): Promise<number> {
  const program = new Command('kdive')
    .description('a kernel debugger: boot a kernel under QEMU, break, step, backtrace')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showSuggestionAfterError(true);
  registerRunCommands(program);
  registerInitramfsCommand(program);
  registerKernelCommand(program);
  registerSymCommand(program);
  registerDebugCommand(program);
  registerBootCommand(program);
  registerProxyCommand(program);
  registerDapCommand(program);
  registerImageCommand(program);
  registerSnapshotCommand(program);
  registerSymbolizeCommand(program);
  registerLibvirtCommand(program);
  registerQemuCommand(program);
  try {
    await program.parseAsync(normalizeSymArgs(argv));
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return reportError(err);
  }
}

/** One line on stderr, a non-zero exit code; a stack trace only for bugs and only with KDIVE_DEBUG. */
export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander already printed its message (usage errors, --help, --version).
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof KdiveError) {
    process.stderr.write(`kdive: ${err.message}\n`);
    if (process.env.KDIVE_DEBUG) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`kdive: internal error: ${message} (set KDIVE_DEBUG=1 for details)\n`);
  if (process.env.KDIVE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  return 70;
}

// A reader that stops early (`kdive sym … | head`) closes the pipe: stop quietly, as other tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

main(process.argv).then(
  (code) => process.exit(code),
  (err) => process.exit(reportError(err)),
);
