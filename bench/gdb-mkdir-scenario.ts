/**
 * The hand-made set-up kdive replaces, scripted: build the same initramfs, start QEMU halted with
 * its gdbstub, attach stock gdb, `hbreak do_mkdirat`, continue, `bt`, kill. Timed as a whole.
 *   gdb-mkdir-scenario BZIMAGE VMLINUX
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildInitramfs } from '../src/rootfs/index.js';
import { launchQemu } from '../src/vm/index.js';

const [bzImage, vmlinux] = process.argv.slice(2);
const dir = await mkdtemp(path.join(os.tmpdir(), 'kdive-bench-gdb-'));
const initrd = path.join(dir, 'initramfs.cpio.gz');
await buildInitramfs({ guestCommand: 'mkdir /tmp/test', out: initrd });
const vm = await launchQemu({ kernel: bzImage!, initrd, append: 'console=ttyS0 nokaslr panic=-1 oops=panic', memoryMiB: 512, halted: true });
try {
  const { stdout } = await promisify(execFile)('gdb', [
    '-nx', '-batch', '-ex', `target remote 127.0.0.1:${vm.gdb.port}`, '-ex', 'hbreak do_mkdirat', '-ex', 'continue', '-ex', 'bt', '-ex', 'kill', vmlinux!,
  ], { maxBuffer: 16 << 20 });
  if (!/entry_SYSCALL_64/.test(stdout)) throw new Error(`gdb's backtrace did not reach entry_SYSCALL_64:\n${stdout}`);
  process.stdout.write(`KDIVE-RESULT ${JSON.stringify({ frames: (stdout.match(/^#\d+/gm) ?? []).length })}\n`);
} finally {
  await vm.kill();
  await rm(dir, { recursive: true, force: true });
}
