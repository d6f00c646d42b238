import { Command, Option } from 'commander';
import { createReadStream } from 'node:fs';
import { KdiveError } from '../../errors.js';
import { fetchDebianSource, resolveKernel } from '../../kernels/index.js';
import { openSession, type Session } from '../../session/session.js';
import { SourceTree } from '../../session/source-tree.js';
import { TerminalProgress } from '../progress/terminal-progress.js';
import { runRepl } from '../repl/repl.js';
import { DEFAULT_KERNEL } from './run-command.js';
import { checkKgdbConfig } from '../../session/kgdb-boot.js';
import { addDeviceOptions, devicesFromFlags, type DeviceFlags } from './device-options.js';
import { attachTarget, qemuOption, vmSizeOptions } from './flag-values.js';
import { resolveQemu } from '../../vm/qemu-choice.js';
import { KernelSymbols } from '../../session/kernel-symbols.js';
import { noDebugInfoOption, openKernelSymbols } from './debug-info-option.js';

interface DebugOptions {
  /** false with --no-debuginfo. */
  debuginfo?: boolean;
  kernel: string;
  vmlinux?: string;
  attach?: string;
  guest: string;
  append?: string[];
  kaslr?: boolean;
  source?: string;
  memory: number;
  cpus: number;
  console?: boolean;
  command?: string;
  transport: 'gdbstub' | 'kgdb';
  qemu?: string;
}

type DebugFlags = DebugOptions & Partial<DeviceFlags>;

/** `kdive debug`: a gdb-like prompt over a kernel kdive boots (halted) or one it attaches to. */
export function registerDebugCommand(program: Command): void {
  const debug = program
    .command('debug')
    .description('an interactive debugger (gdb commands) over a kernel booted under QEMU, or attached with --attach')
    .option('-k, --kernel <spec>', "kernel: 'debian:cloud-amd64' or a bzImage path", DEFAULT_KERNEL)
    .option('--vmlinux <file>', 'symbols (ELF vmlinux) for the kernel')
    .addOption(noDebugInfoOption())
    .option('--attach <host:port|socket>', 'attach to a stub that is already listening (QEMU -s, or a unix socket path) instead of booting')
    .option('-g, --guest <command>', 'shell command the guest runs once booted', 'sleep 86400')
    .option('--append <words...>', 'extra kernel command-line words')
    .option('--kaslr', 'boot with KASLR on; kdive finds the slide once the kernel runs')
    .option('--source <dir|debian>', "source tree for list and source lines, or 'debian' for the matching linux-source package")
    .option('--console', 'stream the guest console to stderr')
    .option('-x, --command <file>', 'run the commands in FILE, then read more from stdin')
    .addOption(new Option('--transport <stub>', "QEMU's gdbstub, or kgdb on the serial console (a KGDB kernel)").choices(['gdbstub', 'kgdb']).default('gdbstub'))
    .addOption(vmSizeOptions()[0]!)
    .addOption(vmSizeOptions()[1]!)
    .addOption(qemuOption());
  addDeviceOptions(debug).action(async (opts: DebugFlags) => {
      process.exitCode = await debugKernel(opts);
    });
}

async function debugKernel(opts: DebugFlags): Promise<number> {
  const progress = new TerminalProgress({ quiet: false });
  const devices = devicesFromFlags(opts);
  let session: Session;
  let source: SourceTree | undefined;
  if (opts.attach) {
    const attach = attachTarget(opts.attach);
    // --vmlinux names the symbols of the running kernel: nothing to fetch then.
    const kernel = opts.vmlinux ? undefined : await resolveKernel(opts.kernel, { progress, withDebug: opts.debuginfo });
    const symbols = kernel ? await openKernelSymbols(kernel, opts.debuginfo, progress) : await KernelSymbols.open(opts.vmlinux!, progress, { dwarf: opts.debuginfo !== false });
    session = await openSession({ attach, vmlinux: symbols.vmlinuxPath, symbols, progress });
    process.stdout.write(`Attached to ${opts.attach}${session.symbols.slide ? ` (KASLR slide 0x${session.symbols.slide.toString(16)})` : ''}; the kernel is stopped.\n`);
  } else {
    const kernel = await resolveKernel(opts.kernel, { vmlinux: opts.vmlinux, progress, withDebug: opts.debuginfo });
    if (opts.source) source = new SourceTree(opts.source === 'debian' ? await fetchDebianSource(kernel, { progress }) : opts.source);
    if (opts.transport === 'kgdb') await checkKgdbConfig(kernel);
    const qemu = await resolveQemu(opts.qemu, progress);
    const symbols = await openKernelSymbols(kernel, opts.debuginfo, progress);
    if (opts.transport === 'kgdb') {
      session = await openSession({ transport: 'kgdb', kernel, symbols, guestCommand: opts.guest, append: opts.append, progress, devices, qemu, onConsole: opts.console ? (t) => process.stderr.write(t) : undefined });
      process.stdout.write(`Booted ${kernel.version} with kgdb on its serial console; the kernel waits in kgdb (kgdbwait).\nType "continue" to run it, Ctrl-C (SysRq-g) to stop it, "help" for commands.\n`);
    } else session = await openSession({
      kernel,
      symbols,
      guestCommand: opts.guest,
      append: opts.append,
      kaslr: opts.kaslr,
      snapshots: true,
      devices,
      qemu,
      memoryMiB: opts.memory,
      cpus: opts.cpus,
      progress,
      onConsole: opts.console ? (t) => process.stderr.write(t) : undefined,
    });
    if (opts.transport !== 'kgdb') process.stdout.write(
      `Booted ${kernel.version ?? kernel.bzImage} under QEMU, ${opts.kaslr ? `KASLR slide 0x${session.symbols.slide.toString(16)}, stopped early in boot` : 'halted before its first instruction'}; gdbstub on ${session.vm!.gdb.host}:${session.vm!.gdb.port}.\n` +
        `The guest will run: ${opts.guest}\nType "continue" to run the kernel, Ctrl-C to stop it, "help" for commands.\n`,
    );
  }
  if (opts.source && !source) source = new SourceTree(opts.source);
  try {
    if (opts.command) await runRepl(session, { source, input: createReadStream(opts.command), output: process.stdout }).catch((err: unknown) => {
      throw new KdiveError(`-x ${opts.command}: ${err instanceof Error ? err.message : String(err)}`);
    });
    await runRepl(session, { source });
  } finally {
    await session.close();
  }
  return 0;
}
