import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session } from '../../src/session/session.js';
import { getKgdbKernel } from '../support/kgdb-kernel-fixture.js';

/**
 * The KGDB build has no ftrace, so its functions start with `push %rbp; mov %rsp,%rbp; push %r15;
 * mov %rdx,%r15`. Going on from a breakpoint on each, kdive applies the instruction itself (no
 * single step, which would make QEMU drop its translated code): the state at the next instruction
 * must be exactly what the CPU would have made.
 */
test('breakpoints on prologue instructions: kdive applies push and mov itself, and the CPU state matches the instructions', async () => {
  const kernel = await getKgdbKernel();
  const session = await Session.boot({ kernel, guestCommand: 'test "$(head -c 5 /dev/zero | wc -c)" = 5', memoryMiB: 256 });
  try {
    const base = await session.resolveBreakLocation('ksys_read');
    for (const off of [0, 1, 4, 6, 9]) await session.addBreakpoint(`*0x${(base + BigInt(off)).toString(16)}`);
    const stopAt = async (off: number) => {
      const ev = await session.resume();
      assert.equal(ev.kind, 'breakpoint');
      if (ev.kind !== 'breakpoint') throw new Error('no stop');
      assert.equal(ev.pc, base + BigInt(off));
      return { regs: await session.registers(ev.threadId), tid: ev.threadId };
    };
    const readU64 = async (a: bigint) => (await session.target.readMemory(a, 8)).readBigUInt64LE(0);
    const at0 = (await stopAt(0)).regs;
    // Read once the kernel is up (at reset it is not mapped yet).
    const code = await session.target.readMemory(base, 9);
    assert.equal(code.toString('hex'), '554889e541574989d7', 'ksys_read starts push %rbp; mov %rsp,%rbp; push %r15; mov %rdx,%r15');
    const [rsp0, rbp0, r15, rdx] = ['rsp', 'rbp', 'r15', 'rdx'].map((r) => at0.get(r)!);
    const before = session.emulatedBreakpointSteps;

    const at1 = (await stopAt(1)).regs; // after push %rbp
    assert.equal(at1.get('rsp'), rsp0! - 8n);
    assert.equal(await readU64(rsp0! - 8n), rbp0);
    assert.equal(at1.get('rbp'), rbp0);
    const at4 = (await stopAt(4)).regs; // after mov %rsp,%rbp
    assert.equal(at4.get('rbp'), rsp0! - 8n);
    assert.equal(at4.get('rsp'), rsp0! - 8n);
    const at6 = (await stopAt(6)).regs; // after push %r15
    assert.equal(at6.get('rsp'), rsp0! - 16n);
    assert.equal(await readU64(rsp0! - 16n), r15);
    const at9 = (await stopAt(9)).regs; // after mov %rdx,%r15
    assert.equal(at9.get('r15'), rdx);
    assert.equal(at9.get('rdx'), rdx);
    assert.equal(session.emulatedBreakpointSteps - before, 4, 'all four applied, none stepped');

    // With the breakpoints gone the guest runs on unharmed: its command succeeds.
    for (const bp of [...session.breakpoints.all()]) await session.deleteBreakpoint(bp.id);
    let ev;
    do ev = await session.resume();
    while (ev.kind !== 'exit');
    assert.equal(ev.guestStatus, 0);
  } finally {
    await session.close();
  }
});
