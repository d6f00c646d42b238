import { Option, type Command } from 'commander';
import path from 'node:path';
import { KdiveError } from '../../errors.js';
import { resolveKernel } from '../../kernels/index.js';
import { parseGuestExit } from '../../rootfs/index.js';
import type { GuestDevicesOptions } from '../../vm/guest-devices.js';
import { portOf, qemuOption, vmSizeOptions } from './flag-values.js';
import { resolveQemu } from '../../vm/qemu-choice.js';
import type { QemuBinary } from '../../vm/qemu-binary.js';
import { addDeviceOptions, devicesFromFlags, type DeviceFlags } from './device-options.js';
import { TerminalProgress } from '../progress/terminal-progress.js';
import { DEFAULT_KERNEL } from './run-command.js';
import type { AddressInfo } from 'node:net';
import type { KernelArtifacts } from '../../kernels/index.js';
import { launchKgdbVm } from '../../session/kgdb-boot.js';
import { launchDebugVm, type DebugVm } from '../../session/open-session.js';
import { serveKgdbToGdb } from '../../proxy/kgdb-gdb-port.js';
import { noDebugInfoOption } from './debug-info-option.js';

interface BootOptions {
  /** false with --no-debuginfo. */
  debuginfo?: boolean;
  kernel: string;
  vmlinux?: string;
  guest: string;
  append?: string[];
  memory: number;
  cpus: number;
  kaslr?: boolean;
  console?: boolean;
  source?: string;
  transport: 'gdbstub' | 'kgdb';
  gdb?: string;
  halt: boolean;
  qemu?: string;
}

type BootFlags = BootOptions & Partial<DeviceFlags>;

/**
 * `kdive boot`: the VM halted with its gdbstub on loopback, for a stock gdb (or `kdive debug
 * --attach`); prints the endpoint and the gdb command line; ends with the guest or Ctrl-C.
 */
export function registerBootCommand(program: Command): void {
  const boot = program
    .command('boot')
    .description('boot a kernel halted under QEMU with its gdbstub on 127.0.0.1 and print how to attach gdb')
    .option('-k, --kernel <spec>', "kernel: 'debian:cloud-amd64' or a bzImage path", DEFAULT_KERNEL)
    .option('--vmlinux <file>', 'symbols (ELF vmlinux) for the kernel')
    .addOption(noDebugInfoOption())
    .option('-g, --guest <command>', 'shell command the guest runs once booted', 'sleep 86400')
    .option('--append <words...>', 'extra kernel command-line words')
    .option('--kaslr', 'boot with KASLR on (gdb then needs the slide; kdive debug --attach finds it)')
    .option('--console', 'stream the guest console to stderr')
    .option('--source <dir>', 'a kernel source tree, for the printed gdb substitute-path')
    .addOption(vmSizeOptions()[0]!)
    .addOption(vmSizeOptions()[1]!)
    .addOption(qemuOption())
    .option('--no-halt', 'let the kernel run at once instead of waiting for the debugger (attach later)')
    .addOption(new Option('--transport <stub>', "QEMU's gdbstub, or kgdb on the serial console (kdive splits console and gdb, as agent-proxy does)").choices(['gdbstub', 'kgdb']).default('gdbstub'))
    .option('--gdb <host:port>', 'where gdb connects: 127.0.0.1:PORT (QEMU\'s gdbstub, or the kgdb port with --transport kgdb); default a free port', '127.0.0.1:0');
  addDeviceOptions(boot).action(async (opts: BootFlags) => {
      process.exitCode = await bootForGdb(opts);
    });
}

async function bootForGdb(opts: BootFlags): Promise<number> {
  const progress = new TerminalProgress({ quiet: false });
  const devices = devicesFromFlags(opts);
  const gdbPort = loopbackPort(opts.gdb);
  const kernel = await resolveKernel(opts.kernel, { vmlinux: opts.vmlinux, progress, withDebug: opts.debuginfo });
  const qemu = await resolveQemu(opts.qemu, progress);
  if (opts.transport === 'kgdb') return bootKgdbForGdb(opts, gdbPort, kernel, progress, devices, qemu);
  let booted: DebugVm | undefined;
  try {
    // Nothing of kdive's watches for panic() here: pvpanic pauses a panicking guest for gdb instead.
    // A second QMP monitor, in the private run folder, for `kdive snapshot --vm` (kdive holds the first).
    booted = await launchDebugVm({
      kernel,
      guestCommand: opts.guest,
      devices,
      pvpanic: true,
      oopsPanic: false,
      snapshots: true,
      runDirPrefix: 'kdive-boot-',
      extraArgs: (runDir) => ['-qmp', `unix:${path.join(runDir, 'control.qmp')},server=on,wait=off`],
      append: opts.append,
      kaslr: opts.kaslr,
      memoryMiB: opts.memory,
      cpus: opts.cpus,
      halted: opts.halt !== false,
      gdbPort,
      progress,
      qemu,
    });
    const { vm } = booted;
    const control = path.join(booted.runDir, 'control.qmp');
    if (opts.console) vm.onConsole((t) => process.stderr.write(t));
    vm.qmp.on('GUEST_PANICKED', () => process.stdout.write('kdive boot: the guest kernel panicked; QEMU paused it (pvpanic) for the debugger: bt in gdb shows where\n'));
    const endpoint = `${vm.gdb.host}:${vm.gdb.port}`;
    const substitute = opts.source ? ` -ex 'set substitute-path /build/reproducible-path/linux-${/^(\d+\.\d+\.\d+)/.exec(kernel.version ?? '')?.[1] ?? 'VERSION'} ${path.resolve(opts.source)}'` : '';
    process.stdout.write(
      `kdive boot: ${kernel.version ?? kernel.bzImage} ${opts.halt === false ? 'running' : 'halted'} under QEMU (${vm.accel}); gdbstub on ${endpoint}\n` +
        `gdb -ex 'target remote ${endpoint}'${substitute} ${kernel.vmlinux ?? 'VMLINUX'}\n` +
        `(or: kdive debug --attach ${endpoint}${kernel.vmlinux ? ` --vmlinux ${kernel.vmlinux}` : ''})\n` +
        `Live snapshots: kdive snapshot save|load|list|delete --vm ${control} [NAME]\n` +
        'Ctrl-C ends the VM.\n',
    );
    const stop = () => void vm.kill();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const status = await vm.exited;
    const gone = vm.unexpectedEnd();
    if (gone) {
      process.stdout.write(`kdive boot: ${gone}; the VM is gone\n`);
      return 1;
    }
    const guestStatus = parseGuestExit(vm.consoleText());
    process.stdout.write(`kdive boot: the VM ended${guestStatus !== undefined ? `; guest command exit status ${guestStatus}` : ''}\n`);
    if (status.code === null && guestStatus === undefined) return 130;
    return guestStatus ?? 0;
  } catch (err) {
    throw err instanceof KdiveError ? err : new KdiveError(String(err));
  } finally {
    // QEMU has ended already on the normal path; on an error after launch it must not be left behind.
    await booted?.vm.kill();
    booted?.cleanup();
  }
}

/** `--gdb 127.0.0.1:PORT` -> PORT (0: a free one); loopback only, as everything kdive listens on. */
function loopbackPort(spec: string | undefined): number {
  const m = /^(127\.0\.0\.1|localhost):(\d+)$/.exec(spec ?? '127.0.0.1:0');
  if (m) return portOf('--gdb', spec!, m[2]!, true);
  throw new KdiveError(`--gdb ${spec}: expected 127.0.0.1:PORT (kdive listens on loopback only)`, 2);
}

/** The kgdb kernel waiting in kgdbwait; its console on stdout, its RSP on a loopback port for gdb. */
async function bootKgdbForGdb(opts: BootOptions, gdbPort: number, kernel: KernelArtifacts, progress: TerminalProgress, devices: GuestDevicesOptions, qemu: QemuBinary): Promise<number> {
  const kvm = await launchKgdbVm({ kernel, guestCommand: opts.guest, append: opts.append, progress, devices, qemu, onConsole: opts.console ? (t) => process.stderr.write(t) : undefined });
  try {
    const server = await serveKgdbToGdb(kvm.demux, gdbPort, (l) => process.stderr.write(`kdive boot: ${l}\n`));
    const endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.stdout.write(
      `kdive boot: ${kernel.version} waits in kgdb (kgdbwait); gdb on ${endpoint} (console and gdb split on one serial line)\n` +
        `gdb -ex 'target remote ${endpoint}' ${kernel.vmlinux ?? 'VMLINUX'}\n` +
        'Ctrl-C in gdb stops the kernel (SysRq-g); Ctrl-C here ends the VM.\n',
    );
    const stop = () => void kvm.vm.kill();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await kvm.vm.exited;
    server.close();
    const guest = parseGuestExit(kvm.demux.text());
    process.stdout.write(`kdive boot: the VM ended${guest !== undefined ? `; guest command exit status ${guest}` : ''}\n`);
    return guest ?? 0;
  } finally {
    await kvm.vm.kill();
    kvm.cleanup();
  }
}
