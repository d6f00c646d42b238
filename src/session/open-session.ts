import { KdiveError } from '../errors.js';
import type { KernelArtifacts } from '../kernels/index.js';
import { discoverSlide, locateStoppedKernel } from '../os/linux/kaslr.js';
import { silentProgress, type ProgressReporter } from '../progress/progress.js';
import { useSharedRam } from './shared-ram.js';
import { GdbRemoteTarget } from '../target/gdb-remote/index.js';
import { connectTcp, connectUnix } from '../transport/index.js';
import type { GuestDevicesOptions } from '../vm/guest-devices.js';
import { launchQemu, type LaunchOptions, type QemuBinary, type QemuInstance } from '../vm/index.js';
import { scratchSnapshotDisk } from '../vm/live-snapshots.js';
import { createRunDir } from '../vm/run-dir.js';
import { prepareGuestLaunch, type GuestLaunch } from './guest-launch.js';
import { KernelSymbols } from './kernel-symbols.js';
import { Session } from './session.js';

export interface BootOptions {
  kernel: KernelArtifacts;
  /** Shell command the guest's /init runs before powering off. */
  guestCommand: string;
  /** Extra kernel command-line words. */
  append?: string[];
  memoryMiB?: number;
  cpus?: number;
  progress?: ProgressReporter;
  /** Called with console text as the guest prints it. */
  onConsole?: (text: string) => void;
  /** Symbols already read (the session takes them over and closes them). */
  symbols?: KernelSymbols;
  /** Boot with KASLR on (default: off, `nokaslr`); the slide is found once the kernel runs. */
  kaslr?: boolean;
  /** More QEMU settings (disks, devices, extra arguments), merged into the launch. */
  launch?: Partial<LaunchOptions>;
  /** Attach a scratch qcow2 disk so live snapshots (saveSnapshot/loadSnapshot) work. */
  snapshots?: boolean;
  /** Port forwards, shared folders, disks and a root device. */
  devices?: GuestDevicesOptions;
  /** Which QEMU runs the guest (--qemu); default the system's. */
  qemu?: QemuBinary;
}

export interface AttachOptions {
  host?: string;
  port?: number;
  /** A unix socket instead of host:port (QEMU's gdbstub or a kgdb serial line in a private folder). */
  socketPath?: string;
  vmlinux: string;
  profile?: 'qemu' | 'kgdb' | 'generic' | 'auto';
  progress?: ProgressReporter;
  symbols?: KernelSymbols;
  /** How long to wait for each reply of the stub (default: KDIVE_STUB_TIMEOUT_MS, else 10 s). */
  timeoutMs?: number;
}

/**
 * How long kdive waits for a stub's reply: KDIVE_STUB_TIMEOUT_MS when set (a stub that goes quiet
 * is then reported sooner; the hostile-input tests set it), else 10 s.
 */
export function stubTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const ms = Number(env.KDIVE_STUB_TIMEOUT_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : 10_000;
}

/**
 * What to debug, for every front end (`run`, `debug`, `dap`, the library): a kernel to boot under
 * QEMU with its gdbstub (the default) or its own kgdb on the serial line, or a stub that already
 * listens. The one way a Session starts.
 */
export type SessionSpec =
  | ({ attach?: undefined; transport?: 'gdbstub' } & BootOptions)
  | ({ attach?: undefined; transport: 'kgdb' } & Omit<BootOptions, 'kaslr' | 'launch' | 'snapshots' | 'cpus'>)
  | { attach: Omit<AttachOptions, 'vmlinux' | 'progress' | 'symbols'>; vmlinux: string; progress?: ProgressReporter; symbols?: KernelSymbols };

export async function openSession(spec: SessionSpec): Promise<Session> {
  if (spec.attach) return attachSession({ ...spec.attach, vmlinux: spec.vmlinux, progress: spec.progress, symbols: spec.symbols });
  if (spec.transport === 'kgdb') {
    // kgdb-boot builds on the session module; loaded when asked for so the two do not load each other at start.
    const { bootKgdbSession } = await import('./kgdb-boot.js');
    return (await bootKgdbSession(spec)).session;
  }
  return bootSession(spec);
}

/**
 * Attaches to a stub that is already listening (QEMU started with `-s`, a kgdb proxy...) with
 * the symbols of the kernel it runs. The kernel stays stopped until resume().
 */
export async function attachSession(opts: AttachOptions): Promise<Session> {
  const symbols = opts.symbols ?? (await KernelSymbols.open(opts.vmlinux, opts.progress));
  try {
    const socket = opts.socketPath ? await connectUnix(opts.socketPath, { timeoutMs: 10_000 }) : await connectTcp(opts.host ?? '127.0.0.1', opts.port ?? 1234, { timeoutMs: 10_000 });
    const target = await GdbRemoteTarget.connect(socket, { profile: opts.profile ?? 'auto', timeoutMs: opts.timeoutMs ?? stubTimeoutMs(), name: opts.socketPath ?? `${opts.host ?? '127.0.0.1'}:${opts.port ?? 1234}` });
    const session = Session.fromTarget(target, symbols);
    session.selectedThread = target.initialStop?.threadId;
    try {
      const where = await locateStoppedKernel((a, n) => target.readMemory(a, n), symbols);
      symbols.slide = where.slide;
      if (where.note) (opts.progress ?? silentProgress).note(where.note);
    } catch (err) {
      await session.close();
      throw err;
    }
    return session;
  } catch (err) {
    await symbols.close();
    throw err;
  }
}

/** A booted VM with its gdbstub on loopback, and what ends it. */
export interface DebugVm {
  vm: QemuInstance;
  /** The private run folder (0700) of this VM: sockets, the initramfs, the snapshot disk. */
  runDir: string;
  /** Stops the guest's helpers (virtiofsd) and removes the run folder; QEMU is ended by vm.kill(). */
  cleanup(): void;
}

/**
 * The one way kdive boots a kernel for debugging over QEMU's gdbstub, whoever debugs it: a kdive
 * Session (bootSession) or a stock gdb (kdive boot). The initramfs with the guest command and the
 * devices, the kernel command line, QEMU halted before the first instruction (unless told not to).
 */
export async function launchDebugVm(opts: Omit<BootOptions, 'symbols'> & { gdbPort?: number; halted?: boolean; pvpanic?: boolean; oopsPanic?: boolean; runDirPrefix?: string; extraArgs?: (runDir: string) => string[] }): Promise<DebugVm> {
  const progress = opts.progress ?? silentProgress;
  const work = createRunDir(opts.runDirPrefix ?? 'kdive-session-');
  let guest: GuestLaunch | undefined;
  try {
    guest = await prepareGuestLaunch(opts.kernel, opts.guestCommand, opts.pvpanic ? { ...opts.devices, pvpanic: true } : opts.devices, work.path, progress);
    const launch = { ...(opts.launch ?? {}) };
    launch.extraArgs = [...(launch.extraArgs ?? []), ...(guest.launch.extraArgs ?? []), ...(opts.extraArgs?.(work.path) ?? [])];
    // RAM shared with kdive (a memfd) unless told otherwise, for memory reads without the stub
    // (useSharedRam); shared whatever was said when a device needs it (virtiofs).
    launch.sharedMemory = (launch.sharedMemory ?? true) || guest.launch.sharedMemory;
    if (opts.snapshots) launch.extraArgs = [...launch.extraArgs, ...(await scratchSnapshotDisk(work.path))];
    const vm = await launchQemu({
      memoryMiB: opts.memoryMiB ?? 512,
      cpus: opts.cpus ?? 1,
      ...launch,
      kernel: opts.kernel.bzImage,
      initrd: guest.initrd,
      append: ['console=ttyS0', ...(opts.kaslr ? [] : ['nokaslr']), 'panic=-1', ...(opts.oopsPanic === false ? [] : ['oops=panic']), ...guest.append, ...(opts.append ?? []), ...(launch.append ? [launch.append] : [])].join(' '),
      halted: opts.halted ?? true,
      qemu: opts.qemu,
      ...(opts.gdbPort !== undefined ? { gdbPort: opts.gdbPort } : {}),
    });
    if (opts.onConsole) vm.onConsole(opts.onConsole);
    const stopGuest = guest.stop;
    return {
      vm,
      runDir: work.path,
      cleanup: () => {
        stopGuest();
        work.remove();
      },
    };
  } catch (err) {
    guest?.stop();
    work.remove();
    throw err;
  }
}

/** Boots the kernel halted under QEMU with its gdbstub on loopback and attaches to it. */
export async function bootSession(opts: BootOptions): Promise<Session> {
  const progress = opts.progress ?? silentProgress;
  // Without a vmlinux, the bzImage: its stripped vmlinux keeps BTF, kallsyms and ORC.
  const symbols = opts.symbols ?? (await KernelSymbols.open(opts.kernel.vmlinux ?? opts.kernel.bzImage, progress));
  let booted: DebugVm | undefined;
  try {
    booted = await launchDebugVm(opts);
    const { vm } = booted;
    const socket = await connectTcp(vm.gdb.host, vm.gdb.port, { timeoutMs: 10_000, retryUntilMs: 10_000 });
    const target = await GdbRemoteTarget.connect(socket, { profile: 'qemu' });
    const closeRam = opts.launch?.sharedMemory === false ? async () => undefined : await useSharedRam(target, vm.pid, opts.memoryMiB ?? 512, progress);
    const cleanup = booted.cleanup;
    const session = Session.fromTarget(target, symbols, {
      vm,
      cleanup: () => {
        void closeRam();
        cleanup();
      },
    });
    if (opts.kaslr) {
      const task = progress.start('booting until the kernel can be located (KASLR)');
      try {
        symbols.slide = await discoverSlide(target, symbols);
        task.finish();
      } catch (err) {
        task.fail();
        await session.close();
        throw err;
      }
    }
    return session;
  } catch (err) {
    await booted?.vm.kill();
    booted?.cleanup();
    await symbols.close();
    throw err;
  }
}
