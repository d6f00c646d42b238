import path from 'node:path';
import { buildInitramfs } from '../../src/rootfs/index.js';
import { launchQemu, type QemuInstance } from '../../src/vm/index.js';
import type { QemuBinary } from '../../src/vm/qemu-binary.js';
import type { BenchContext } from '../bench-item.js';

/** Boots the kernel with a guest command and lets it run until /init has started it. */
export async function bootGuest(ctx: BenchContext, guestCommand: string, dir: string, qemu?: QemuBinary): Promise<QemuInstance> {
  const initrd = path.join(dir, `initramfs-${Date.now()}.cpio.gz`);
  await buildInitramfs({ guestCommand, out: initrd });
  const vm = await launchQemu({ kernel: ctx.bzImage, initrd, append: 'console=ttyS0 nokaslr panic=-1', memoryMiB: 512, halted: false, sharedMemory: true, qemu });
  for (let i = 0; i < 300 && !vm.consoleText().includes('Run /init'); i++) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1000));
  return vm;
}

