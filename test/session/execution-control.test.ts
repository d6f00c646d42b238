import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Session, type SessionEvent } from '../../src/session/session.js';
import { decodeInstruction } from '../../src/arch/x86_64/instruction-decoder.js';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { qemuPids } from '../support/cli-runner.js';

/** The string a `struct filename *` (first argument register at do_mkdirat's entry) names. */
async function filenameArg(session: Session): Promise<string> {
  const regs = await session.registers();
  const filename = regs.get('rsi')!; // do_mkdirat(int dfd, struct filename *name, umode_t mode)
  const namePtr = (await session.readMemory(filename, 8)).readBigUInt64LE(0); // filename->name is member 0
  const bytes = await session.readMemory(namePtr, 64);
  return bytes.subarray(0, bytes.indexOf(0)).toString('latin1');
}

function addr2line(vmlinux: string, pc: bigint): { fn: string; line: string } {
  const [fn, where] = execFileSync('addr2line', ['-f', '-e', vmlinux, `0x${pc.toString(16)}`], { encoding: 'utf8' }).trim().split('\n');
  return { fn: fn!, line: where!.split(':').pop()!.split(' ')[0]! };
}

test('stepi, next, finish with the return value, ignore counts and tbreak on a real kernel', async () => {
  const kernel = await getDebianKernel();
  const session = await Session.boot({ kernel, guestCommand: 'mkdir /tmp/a /tmp/b /tmp/c && ls -d /tmp/c' });
  try {
    // Ignore count 1: the first mkdir passes, the second stops.
    const bp = await session.addBreakpoint('do_mkdirat', { ignoreCount: 1 });
    let ev = await session.resume();
    assert.equal(ev.kind, 'breakpoint');
    assert.equal(await filenameArg(session), '/tmp/b');
    assert.equal(bp.hits, 2);

    // stepi: exactly one instruction further, as the decoder measures the instruction at the entry.
    const pc0 = ev.kind === 'breakpoint' ? ev.pc : 0n;
    const insn = decodeInstruction(await session.readMemory(pc0, 16), pc0)!;
    ev = await session.stepInstruction();
    assert.equal(ev.kind, 'stop');
    assert.equal(ev.kind === 'stop' && ev.pc, pc0 + BigInt(insn.length));

    // next: a line-table row start on another line of do_mkdirat (addr2line is the oracle).
    const before = addr2line(kernel.vmlinux!, pc0);
    ev = await session.stepLine({ over: true });
    assert.equal(ev.kind, 'stop');
    const afterNext = ev.kind === 'stop' ? ev.pc : 0n;
    const after = addr2line(kernel.vmlinux!, afterNext);
    assert.equal(after.fn, 'do_mkdirat');
    assert.notEqual(after.line, before.line, `next stayed on line ${before.line}`);

    // finish: back in the caller at the return address the unwinder gives, mkdir's result is 0.
    const bt = await session.backtrace();
    const callerIndex = bt.frames.findIndex((f, i) => i > 0 && !bt.frames[i - 1]!.inlined);
    const { event, returnValue } = await session.finish();
    assert.equal(event.kind, 'stop');
    assert.equal(event.kind === 'stop' && event.pc, bt.frames[callerIndex]!.pc);
    assert.equal(returnValue?.type, 'int');
    assert.equal(returnValue?.scalar !== undefined ? BigInt.asIntN(32, returnValue.scalar) : undefined, 0n);

    // tbreak: the third mkdir stops once and the breakpoint is gone afterwards.
    await session.deleteBreakpoint(bp.id);
    const t = await session.addBreakpoint('do_mkdirat', { temporary: true });
    ev = await session.resume();
    assert.equal(ev.kind, 'breakpoint');
    assert.equal(await filenameArg(session), '/tmp/c');
    assert.equal(session.breakpoints.get(t.id), undefined);
    ev = await session.resume();
    assert.equal(ev.kind, 'exit');
    assert.equal((ev as Extract<SessionEvent, { kind: 'exit' }>).guestStatus, 0);
  } finally {
    await session.close();
  }
});

test('interrupt stops a kernel busy in a guest loop, and the pending resume reports that same stop', async () => {
  const kernel = await getDebianKernel();
  const session = await Session.boot({ kernel, guestCommand: 'i=0; while [ $i -lt 2000000 ]; do i=$((i+1)); done' });
  try {
    const running = session.resume();
    // Let the guest get into its loop, then Ctrl-C.
    await new Promise((r) => setTimeout(r, 8000));
    const stop = await session.interrupt();
    assert.equal(stop.kind, 'stop');
    assert.equal(stop.kind === 'stop' && stop.reason, 'interrupt');
    assert.equal(await running, stop);
    assert.equal(session.isRunning, false);
    // The kernel really is stopped: two register reads agree.
    const a = (await session.registers()).get('rip');
    const b = (await session.registers()).get('rip');
    assert.equal(a, b);
  } finally {
    await session.close();
  }
  assert.equal(qemuPids().has(session.vm!.pid), false);
});
