import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootKgdbSession } from '../../src/session/kgdb-boot.js';
import { newQemuPids, qemuPids } from '../support/cli-runner.js';
import { getKgdbKernel } from '../support/kgdb-kernel-fixture.js';

const READS = 200;
const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `0x${x.toString(16)}` : x));

test('kgdb: the push %rbp under a breakpoint is applied in the kernel\'s int3 frame, not stepped: the next instruction sees rsp-8 holding rbp, every read is seen, the guest ends normally', async () => {
  const kernel = await getKgdbKernel();
  const before = qemuPids();
  const { session, demux } = await bootKgdbSession({
    kernel,
    guestCommand: `dd if=/dev/zero of=/dev/null bs=1 count=${READS} 2>/dev/null; echo DD-DONE`,
  });
  try {
    const entry = await session.addBreakpoint('ksys_read');
    const insn = await session.target.readMemory(entry.address, 2);
    assert.equal(insn[0], 0x55, `ksys_read starts with push %rbp in this kernel (got ${insn.toString('hex')})`);

    // One hit checked instruction by instruction: a second breakpoint right after the push.
    let ev = await session.resume();
    assert.equal(ev.kind, 'breakpoint', show(ev));
    const atEntry = await session.registers();
    const rsp = atEntry.get('rsp')!;
    const rbp = atEntry.get('rbp')!;
    const rdi = atEntry.get('rdi')!;
    const next = await session.addBreakpoint(`*0x${(entry.address + 1n).toString(16)}`);
    ev = await session.resume();
    assert.equal(ev.kind, 'breakpoint', show(ev));
    assert.equal(ev.kind === 'breakpoint' ? ev.pc : 0n, entry.address + 1n);
    const after = await session.registers();
    assert.equal(after.get('rsp'), rsp - 8n);
    assert.equal((await session.target.readMemory(rsp - 8n, 8)).readBigUInt64LE(0), rbp);
    assert.equal(after.get('rbp'), rbp);
    assert.equal(after.get('rdi'), rdi);
    assert.equal(session.emulatedBreakpointSteps, 1);
    await session.deleteBreakpoint(next.id);

    // Then hundreds of hits, each going on without a single step; dd's reads are ksys_read(0, buf, 1).
    let ddReads = rdi === 0n && atEntry.get('rdx') === 1n ? 1 : 0;
    let hits = 1;
    while (ddReads < READS) {
      ev = await session.resume();
      assert.equal(ev.kind, 'breakpoint', show(ev));
      hits++;
      const args = new Map((await session.argumentRegisters(ev.kind === 'breakpoint' ? ev.threadId : undefined)).map((a) => [a.name, a.value]));
      if (args.get('rdi') === 0n && args.get('rdx') === 1n) ddReads++;
    }
    assert.equal(ddReads, READS);
    // Every going-on from a hit applied the push (the last hit's breakpoint is deleted before going on).
    assert.equal(session.emulatedBreakpointSteps, hits - 1, `${session.emulatedBreakpointSteps} applied pushes for ${hits} hits`);
    await session.deleteBreakpoint(entry.id);
    const end = await session.resume();
    assert.equal(end.kind, 'exit', show(end));
    assert.equal(end.kind === 'exit' ? end.guestStatus : undefined, 0);
    assert.ok(demux.text().includes('DD-DONE'), demux.text().slice(-1500));
  } finally {
    await session.close();
  }
  assert.deepEqual(newQemuPids(before), []);
});
