import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { KdiveError } from '../errors.js';
import type { KernelArtifacts } from '../kernels/index.js';
import { silentProgress, type ProgressReporter } from '../progress/progress.js';
import { GdbRemoteTarget } from '../target/gdb-remote/index.js';
import { ConsoleDemux } from '../transport/console-demux.js';
import { connectUnix } from '../transport/index.js';
import { launchQemu, type QemuBinary, type QemuInstance } from '../vm/index.js';
import { createRunDir } from '../vm/run-dir.js';
import { KernelSymbols } from './kernel-symbols.js';
import { Session } from './session.js';
import { prepareGuestLaunch, type GuestLaunch } from './guest-launch.js';
import type { GuestDevicesOptions } from '../vm/guest-devices.js';

export interface KgdbBootOptions {
  kernel: KernelArtifacts;
  guestCommand: string;
  append?: string[];
  memoryMiB?: number;
  progress?: ProgressReporter;
  onConsole?: (text: string) => void;
  symbols?: KernelSymbols;
  /** How long to wait for kgdb to announce itself on the line. */
  timeoutMs?: number;
  /** Port forwards, shared folders, disks and a root device. */
  devices?: GuestDevicesOptions;
  /** Which QEMU runs the guest (--qemu); default the system's. */
  qemu?: QemuBinary;
}

/** Refuses, from its .config, a kernel that cannot be debugged over kgdb: said at once, before booting. */
export async function checkKgdbConfig(kernel: KernelArtifacts): Promise<void> {
  if (!kernel.config) return; // no config to read: the boot will tell
  const config = await readFile(kernel.config, 'utf8').catch((err: Error) => {
    throw new KdiveError(`cannot read ${kernel.config} to check it has kgdb: ${err.message}`);
  });
  const missing = ['CONFIG_KGDB', 'CONFIG_KGDB_SERIAL_CONSOLE'].filter((o) => !new RegExp(`^${o}=y$`, 'm').test(config));
  if (missing.length) {
    throw new KdiveError(`${kernel.version} cannot be debugged over kgdb: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set in ${kernel.config} (build one with: kdive kernel build --fragment kgdb)`, 2);
  }
}

/** A VM whose first serial port (console + kgdb) is split by a ConsoleDemux, kgdb waiting for a debugger. */
export interface KgdbVm {
  vm: QemuInstance;
  demux: ConsoleDemux;
  /** Closes the serial connection and removes the run folder (QEMU is ended by vm.kill()). */
  cleanup(): void;
}

/**
 * Boots a kernel whose console and kgdb share the first serial port, a telnet-mode TCP chardev
 * on 127.0.0.1; the line is split into console text and RSP (ConsoleDemux). With kgdbwait the
 * kernel stops early in its boot for the debugger; a telnet BREAK + `g` (SysRq-g) breaks in later.
 */
export async function launchKgdbVm(opts: Omit<KgdbBootOptions, 'symbols'>): Promise<KgdbVm> {
  const progress = opts.progress ?? silentProgress;
  await checkKgdbConfig(opts.kernel);
  const work = createRunDir('kdive-kgdb-');
  let vm: QemuInstance | undefined;
  let guest: GuestLaunch | undefined;
  try {
    guest = await prepareGuestLaunch(opts.kernel, opts.guestCommand, opts.devices, work.path, progress);
    // The serial line on a unix socket in the private run folder: reachable by this user only, and no
    // TCP per byte (the UART sends each character as its own write).
    const serialPath = path.join(work.path, 'serial.sock');
    vm = await launchQemu({
      kernel: opts.kernel.bzImage,
      initrd: guest.initrd,
      sharedMemory: guest.launch.sharedMemory,
      // rodata=off: kgdb writes and restores its int3s with plain stores; on read-only text its restore
      // through text_poke silently fails here, leaving the int3 behind after z0.
      append: ['console=ttyS0,115200', 'kgdboc=ttyS0,115200', 'kgdbwait', 'nokaslr', 'rodata=off', 'panic=-1', ...guest.append, ...(opts.append ?? [])].join(' '),
      memoryMiB: opts.memoryMiB ?? 256,
      cpus: 1,
      gdb: false,
      qemu: opts.qemu,
      serial: 'none',
      halted: true,
      extraArgs: ['-chardev', `socket,id=kdive-serial,path=${serialPath},server=on,wait=off,telnet=on`, '-serial', 'chardev:kdive-serial', ...(guest.launch.extraArgs ?? [])],
    });
    const line = await connectUnix(serialPath, { timeoutMs: 10_000, retryUntilMs: 10_000 });
    const demux = new ConsoleDemux((bytes) => line.write(bytes));
    line.on('data', (d: Buffer) => demux.push(d));
    line.on('close', () => demux.rsp.destroy());
    if (opts.onConsole) demux.onConsole(opts.onConsole);
    // The line is connected before the kernel runs: no console byte is lost.
    await vm.qmp.execute('cont');
    const waitMs = opts.timeoutMs ?? 240_000;
    const task = progress.start('booting until kgdb waits for the debugger');
    const running = vm;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new KdiveError(`no kgdb on the serial line after ${waitMs / 1000} s: the kernel never printed "KGDB: Waiting for connection" (is kgdboc built in?)`)), waitMs);
      const check = () => {
        if (/KGDB: Waiting for connection/.test(demux.text())) {
          clearTimeout(timer);
          resolve();
        } else if (running.hasExited) {
          clearTimeout(timer);
          reject(new KdiveError(`QEMU exited before kgdb came up; console: ${demux.text().slice(-300).replace(/\s+/g, ' ')}`));
        }
      };
      demux.onConsole(check);
      void running.exited.then(check);
      check();
    }).finally(() => task.finish());
    const stopGuest = guest.stop;
    return { vm, demux, cleanup: () => { line.destroy(); stopGuest(); work.remove(); } };
  } catch (err) {
    await vm?.kill();
    guest?.stop();
    work.remove();
    throw err;
  }
}

/** launchKgdbVm, then a kdive Session over the RSP side of the line. */
export async function bootKgdbSession(opts: KgdbBootOptions): Promise<{ session: Session; demux: ConsoleDemux }> {
  if (!opts.kernel.vmlinux) throw new KdiveError(`no symbols for ${opts.kernel.bzImage}: pass --vmlinux FILE`, 2);
  await checkKgdbConfig(opts.kernel);
  const symbols = opts.symbols ?? (await KernelSymbols.open(opts.kernel.vmlinux, opts.progress));
  let kvm: KgdbVm | undefined;
  try {
    kvm = await launchKgdbVm(opts);
    const { vm, demux } = kvm;
    const target = await GdbRemoteTarget.connect(demux.rsp, { profile: 'kgdb', breakIn: async () => demux.breakIn(), name: 'kgdb on the serial console' });
    const session = Session.fromTarget(target, symbols, { vm, cleanup: kvm.cleanup, consoleText: () => demux.text() });
    return { session, demux };
  } catch (err) {
    await kvm?.vm.kill();
    kvm?.cleanup();
    await symbols.close();
    throw err;
  }
}
