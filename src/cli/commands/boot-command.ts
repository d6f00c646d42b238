import type { Command } from 'commander';
import path from 'node:path';
import { KdiveError } from '../../errors.js';
import { resolveKernel } from '../../kernels/index.js';
import { buildInitramfs, parseGuestExit } from '../../rootfs/index.js';
import { launchQemu } from '../../vm/index.js';
import { createRunDir } from '../../vm/run-dir.js';
import { TerminalProgress } from '../progress/terminal-progress.js';
import { DEFAULT_KERNEL } from './run-command.js';

interface BootOptions {
  kernel: string;
  vmlinux?: string;
  guest: string;
  append?: string[];
  memory: string;
  kaslr?: boolean;
  console?: boolean;
  source?: string;
}

/**
 * `kdive boot`: the VM halted with its gdbstub on loopback, for a stock gdb (or `kdive debug
 * --attach`); prints the endpoint and the gdb command line; ends with the guest or Ctrl-C.
 */
export function registerBootCommand(program: Command): void {
  program
    .command('boot')
    .description('boot a kernel halted under QEMU with its gdbstub on 127.0.0.1 and print how to attach gdb')
    .option('-k, --kernel <spec>', "kernel: 'debian:cloud-amd64' or a bzImage path", DEFAULT_KERNEL)
    .option('--vmlinux <file>', 'symbols (ELF vmlinux) for the kernel')
    .option('-g, --guest <command>', 'shell command the guest runs once booted', 'sleep 86400')
    .option('--append <words...>', 'extra kernel command-line words')
    .option('--kaslr', 'boot with KASLR on (gdb then needs the slide; kdive debug --attach finds it)')
    .option('--console', 'stream the guest console to stderr')
    .option('--source <dir>', 'a kernel source tree, for the printed gdb substitute-path')
    .option('--memory <MiB>', 'guest memory', '512')
    .action(async (opts: BootOptions) => {
      process.exitCode = await bootForGdb(opts);
    });
}

async function bootForGdb(opts: BootOptions): Promise<number> {
  const progress = new TerminalProgress({ quiet: false });
  const kernel = await resolveKernel(opts.kernel, { vmlinux: opts.vmlinux, progress });
  const work = createRunDir('kdive-boot-');
  try {
    const initrd = path.join(work.path, 'initramfs.cpio.gz');
    await buildInitramfs({ guestCommand: opts.guest, out: initrd });
    const vm = await launchQemu({
      kernel: kernel.bzImage,
      initrd,
      append: ['console=ttyS0', ...(opts.kaslr ? [] : ['nokaslr']), 'panic=-1', ...(opts.append ?? [])].join(' '),
      memoryMiB: Number(opts.memory),
      halted: true,
    });
    if (opts.console) vm.onConsole((t) => process.stderr.write(t));
    const endpoint = `${vm.gdb.host}:${vm.gdb.port}`;
    const substitute = opts.source ? ` -ex 'set substitute-path /build/reproducible-path/linux-${/^(\d+\.\d+\.\d+)/.exec(kernel.version ?? '')?.[1] ?? 'VERSION'} ${path.resolve(opts.source)}'` : '';
    process.stdout.write(
      `kdive boot: ${kernel.version ?? kernel.bzImage} halted under QEMU (${vm.accel}); gdbstub on ${endpoint}\n` +
        `gdb -ex 'target remote ${endpoint}'${substitute} ${kernel.vmlinux ?? 'VMLINUX'}\n` +
        `(or: kdive debug --attach ${endpoint}${kernel.vmlinux ? ` --vmlinux ${kernel.vmlinux}` : ''})\n` +
        'Ctrl-C ends the VM.\n',
    );
    const stop = () => void vm.kill();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const status = await vm.exited;
    const guest = parseGuestExit(vm.consoleText());
    process.stdout.write(`kdive boot: the VM ended${guest !== undefined ? `; guest command exit status ${guest}` : ''}\n`);
    if (status.code === null && guest === undefined) return 130;
    return guest ?? 0;
  } catch (err) {
    throw err instanceof KdiveError ? err : new KdiveError(String(err));
  } finally {
    work.remove();
  }
}
