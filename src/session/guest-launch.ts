import path from 'node:path';
import type { KernelArtifacts } from '../kernels/kernel-artifacts.js';
import { silentProgress, type ProgressReporter } from '../progress/progress.js';
import { buildInitramfs } from '../rootfs/index.js';
import { hasGuestDevices, prepareGuestDevices, type GuestDevicesOptions } from '../vm/guest-devices.js';
import type { LaunchOptions } from '../vm/qemu-launcher.js';

/** What a boot needs besides the kernel: the initramfs, and the devices' QEMU settings and kernel words. */
export interface GuestLaunch {
  initrd: string;
  /** Merged into launchQemu's options (extra arguments, shared memory). */
  launch: Pick<LaunchOptions, 'extraArgs' | 'sharedMemory'>;
  /** Kernel command-line words the devices need (root=). */
  append: string[];
  /** Ends helper processes; call it when QEMU has ended. */
  stop(): void;
}

/** Checks and prepares the devices, then writes the initramfs that loads their modules and sets them up. */
export async function prepareGuestLaunch(kernel: KernelArtifacts, guestCommand: string, devices: GuestDevicesOptions | undefined, workDir: string, progress: ProgressReporter = silentProgress): Promise<GuestLaunch> {
  const prepared = hasGuestDevices(devices) ? await prepareGuestDevices(kernel, devices!, workDir, progress) : undefined;
  try {
    const initrd = path.join(workDir, 'initramfs.cpio.gz');
    const task = progress.start('building initramfs');
    await buildInitramfs({ guestCommand, out: initrd, modules: prepared?.modules, extraInit: prepared?.extraInit, directories: prepared?.directories }).catch((err) => {
      task.fail();
      throw err;
    });
    task.finish();
    return {
      initrd,
      launch: { extraArgs: prepared?.qemuArgs ?? [], sharedMemory: prepared?.sharedMemory ?? false },
      append: prepared?.append ?? [],
      stop: () => prepared?.stop(),
    };
  } catch (err) {
    prepared?.stop();
    throw err;
  }
}
