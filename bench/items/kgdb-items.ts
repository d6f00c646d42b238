import path from 'node:path';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { buildInitramfs } from '../../src/rootfs/index.js';
import { launchQemu, type QemuInstance } from '../../src/vm/index.js';
import type { BenchContext, ItemResult } from '../bench-item.js';
import { resultLine, runTimed, type Sample } from '../measure.js';
import { GDB_HITS_SCRIPT } from './gdb-hits-script.js';

/**
 * The set-up a kgdb user makes by hand, the same for both tools: the console on the first serial
 * port, kgdb alone on the second (kgdboc=ttyS1) on a unix socket chardev (gdb takes its path with
 * `target remote`), the kernel waiting in kgdbwait for whichever debugger connects.
 */
async function bootKgdbWaiting(kernel: NonNullable<BenchContext['kgdb']>, guestCommand: string, dir: string): Promise<{ vm: QemuInstance; socket: string }> {
  const stamp = Date.now();
  const initrd = path.join(dir, `kgdb-${stamp}.cpio.gz`);
  await buildInitramfs({ guestCommand, out: initrd });
  const socket = path.join(dir, `kgdb-${stamp}.sock`);
  const vm = await launchQemu({
    kernel: kernel.bzImage,
    initrd,
    append: 'console=ttyS0 kgdboc=ttyS1,115200 kgdbwait nokaslr rodata=off panic=-1',
    memoryMiB: 256,
    gdb: false,
    halted: false,
    extraArgs: ['-chardev', `socket,id=kgdb,path=${socket},server=on,wait=off`, '-serial', 'chardev:kgdb'],
  });
  for (let i = 0; i < 2400 && !/KGDB: Waiting for connection/.test(vm.consoleText()); i++) {
    if (vm.hasExited) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!/KGDB: Waiting for connection/.test(vm.consoleText())) {
    await vm.kill();
    throw new Error(`the KGDB kernel never waited for a debugger:\n${vm.consoleText().slice(-1500)}`);
  }
  return { vm, socket };
}

/** Item 6 over kgdb: the stop is the guest's own int3 handler, so QEMU never flushes its translated code. */
export async function kgdbItems(ctx: BenchContext): Promise<ItemResult[]> {
  const kernel = ctx.kgdb;
  if (!kernel) return [];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kdive-bench-kgdb-'));
  const worker = path.join(ctx.repoRoot, 'dist/bench/kdive-live-work.js');
  const count = ctx.quick ? 100 : 1000;
  const guest = `dd if=/dev/zero of=/dev/null bs=1 count=${count}`;
  const script = path.join(dir, 'hits.py');
  await writeFile(script, GDB_HITS_SCRIPT);
  const kdiveHits: Sample[] = [];
  const gdbHits: Sample[] = [];
  try {
    for (let i = 0; i < ctx.runs; i++) {
      let { vm, socket } = await bootKgdbWaiting(kernel, guest, dir);
      let kdiveCount: number;
      try {
        const k = await runTimed(ctx.kdive[0]!, [worker, 'kgdb-hits', socket, kernel.vmlinux]);
        const kr = resultLine<{ hits: number; seconds: number }>(k.stdout, `kdive kgdb hits: ${k.stderr}`);
        kdiveHits.push({ value: kr.hits / kr.seconds, peakMB: k.peakMB });
        kdiveCount = kr.hits;
      } finally {
        await vm.kill();
      }
      ({ vm, socket } = await bootKgdbWaiting(kernel, guest, dir));
      try {
        const g = await runTimed('gdb', ['-nx', '-batch', '-ex', `target remote ${socket}`, '-x', script, '-ex', 'continue', '-ex', 'python report()', kernel.vmlinux]);
        const m = /^KDIVE-RESULT (\d+) ([\d.e+-]+)$/m.exec(g.stdout);
        if (!m) throw new Error(`gdb kgdb hits printed no result:\n${g.stdout.slice(-1500)}\n${g.stderr.slice(-1500)}`);
        gdbHits.push({ value: Number(m[1]) / Number(m[2]), peakMB: g.peakMB });
        if (Math.abs(Number(m[1]) - kdiveCount) > Math.max(8, kdiveCount / 50)) throw new Error(`over kgdb gdb counted ${m[1]} hits, kdive ${kdiveCount}`);
      } finally {
        await vm.kill();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return [{
    id: 'breakpoint-hits-kgdb',
    title: `Breakpoint-hit throughput over kgdb: ksys_read while \`dd bs=1 count=${count}\` runs, argument registers read at each hit`,
    unit: 'hits/s',
    higherIsBetter: true,
    runs: [
      { tool: 'gdb', samples: gdbHits, command: `gdb -nx -batch -ex 'target remote SOCKET' -x hits.py -ex continue -ex 'python report()' ${kernel.vmlinux}  # QEMU: -serial stdio -chardev socket,id=kgdb,path=SOCKET,server=on,wait=off -serial chardev:kgdb; kernel: kgdboc=ttyS1 kgdbwait` },
      { tool: 'kdive', samples: kdiveHits, command: `${ctx.kdive[0]} ${worker} kgdb-hits SOCKET ${kernel.vmlinux}  # the same VM set-up` },
    ],
    ratios: [['kdive', 'gdb']],
    notes: [
      `Both tools talk to the same kind of VM: the KGDB kernel (${kernel.version}) waiting in kgdbwait on its second serial port, a unix socket chardev; the hit counts of the two runs are checked to agree.`,
      'Here a stop is the guest kernel\'s own int3 handler talking over the serial line: QEMU does not stop the VM, so nothing throws away its translated code, and the debugger\'s packets are the cost (a `g` reply is ~400 characters through the emulated UART). Per hit kdive sends `g`, `z0`, `s ADDR` (the rewound pc rides on the step), `Z0`, `c`; gdb sends `g`, `P` pc, `P` orig_rax, `m` of 64 bytes of stack, `z0`, `Hc`, `s`, `g`, `Z0`, `Hc0`, `c` (read off the wire with a relay). kdive cannot apply the `push %rbp` under this breakpoint itself as it does under QEMU: kgdb acknowledges writes to rsp and ignores them. The rest of each hit is kgdb entering and leaving, and re-validating its breakpoint by writing the int3 into the text.',
    ],
  }];
}
