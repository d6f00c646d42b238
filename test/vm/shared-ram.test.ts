import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Session } from '../../src/session/session.js';
import type { DirectMemory } from '../../src/target/target.js';
import { GuestMemory } from '../../src/vm/guest-memory.js';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { scratchDir } from '../support/own-resources.js';

/**
 * A VM kdive boots shares its RAM with kdive, which reads kernel memory through its own page walk:
 * every byte equals what QEMU's gdbstub returns for the same addresses (the image, the direct map,
 * the vmalloc'd stack, per-CPU data), with KASLR on; and the task list can be read while the
 * kernel runs, the same tasks as at the next stop.
 */
test('memory read from the shared RAM equals the gdbstub\'s, and ps reads a running kernel', async () => {
  const kernel = await getDebianKernel();
  const session = await Session.boot({ kernel, kaslr: true, guestCommand: 'mkdir /tmp/test; sleep 300' });
  try {
    await session.addBreakpoint('do_mkdirat');
    assert.equal((await session.resume()).kind, 'breakpoint');
    const target = session.target;
    const direct = target.directMemory as GuestMemory | undefined;
    assert.ok(direct instanceof GuestMemory, 'the booted VM\'s memory is read from its shared RAM');

    /** The same range through the stub alone. */
    const throughStub = async (address: bigint, length: number) => {
      const saved: DirectMemory | undefined = target.directMemory;
      target.directMemory = undefined;
      try {
        return await target.readMemory(address, length);
      } finally {
        target.directMemory = saved;
      }
    };
    /** Where a variable lives (for a per-CPU one: this CPU's instance). */
    const at = async (name: string) => {
      const v = await session.evaluate(name);
      assert.ok(v.address !== undefined, `${name} has an address`);
      return v.address;
    };
    const pageOffsetBase = (await session.readMemory(await at('page_offset_base'), 8)).readBigUInt64LE(0);
    const regs = await session.registers();
    const rsp = regs.get('rsp')!;
    const ranges: [string, bigint, number][] = [
      ['kernel text around the stop', (regs.get('rip')! & ~0xffffn) - 0x10000n, 0x20000],
      ['linux_banner', await at('linux_banner'), 256],
      ['init_task', await at('init_task'), 4096],
      ['the current task (direct map)', await session.currentTask(), 4096],
      ['the stack page at rsp (vmalloc)', rsp & ~0xfffn, 4096],
      // A per-CPU symbol is an offset into each CPU's area.
      ['per-CPU data of CPU 0 (current_task)', ((await session.perCpuOffset(0)) + (await at('current_task'))) & ~0xfffn, 4096],
      ['8 MB of the direct map at 16 MB', pageOffsetBase + 0x100_0000n, 8 << 20],
    ];
    for (const [what, address, length] of ranges) {
      const before: number = direct.bytesRead;
      const fromRam = await target.readMemory(address, length);
      assert.equal(direct.bytesRead - before, length, `${what}: read from the shared RAM`);
      assert.ok(fromRam.equals(await throughStub(address, length)), `${what} at 0x${address.toString(16)}: the shared RAM and the gdbstub agree`);
    }

    // `dump binary memory` through the shared RAM writes the bytes the stub reads.
    const dumpFile = path.join(scratchDir('kdive-shared-ram-'), 'dump.bin');
    const dumpStart = pageOffsetBase + 0x200_0000n;
    const before: number = direct.bytesRead;
    assert.equal(await session.dumpMemory(dumpFile, dumpStart, dumpStart + (3n << 20n) + 100n), (3 << 20) + 100);
    assert.equal(direct.bytesRead - before, (3 << 20) + 100);
    assert.ok(readFileSync(dumpFile).equals(await throughStub(dumpStart, (3 << 20) + 100)), 'the dump equals the gdbstub\'s bytes');

    // What is not mapped is not read from RAM: the stub says so, as it would without shared RAM.
    // The page right after the 16 KiB stack is vmalloc's guard page (16 KiB further on may already be
    // the next task's stack, mapped).
    const beyondStack = (rsp | 0x3fffn) + 1n;
    await assert.rejects(target.readMemory(beyondStack, 16), /cannot read 16 bytes of memory at/);

    // While the kernel runs: the stub cannot answer, the RAM can.
    await session.deleteBreakpoint(1);
    const stopped = session.resume();
    for (let i = 0; i < 50 && !session.isRunning; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(session.isRunning);
    await new Promise((r) => setTimeout(r, 1000));
    const runningTasks = await session.linux.tasks();
    assert.ok(runningTasks.some((t) => t.comm === 'sleep'), `the guest's sleep is in the list read while it runs: ${runningTasks.map((t) => t.comm).join(' ')}`);
    await session.interrupt();
    await stopped;
    const stoppedTasks = await session.linux.tasks();
    assert.deepEqual(runningTasks.map((t) => `${t.pid} ${t.comm}`).sort(), stoppedTasks.map((t) => `${t.pid} ${t.comm}`).sort());
  } finally {
    await session.close();
  }
});
