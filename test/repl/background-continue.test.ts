import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session } from '../../src/session/session.js';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { replOutput } from '../support/repl-runner.js';

/**
 * gdb's `continue &` over a VM kdive booted: while the kernel runs, print, x, ps and dmesg read it
 * from the RAM kdive shares with QEMU (no stub packets), each output marked as read from a running
 * kernel; what needs a stopped CPU says so at once instead of waiting; `interrupt` stops it.
 */
test('continue &: reads of the running kernel, marked; commands that need a stop refused; interrupt', async () => {
  const kernel = await getDebianKernel();
  const session = await Session.boot({ kernel, guestCommand: 'mkdir /tmp/test; while true; do :; done' });
  try {
    const out = await replOutput(session, [
      'break do_mkdirat', 'continue', 'delete', 'p jiffies',
      'continue &', 'p jiffies', 'ps', 'x/2gx &jiffies', 'bt', 'info registers rip', 'p $rip', 'p current', 'p init_task.comm',
      'interrupt', 'p jiffies', 'bt 1',
    ]);
    const after = (marker: string) => out.slice(out.indexOf(marker));
    const running = after('Continuing.\n(read while the kernel runs)');
    assert.ok(running.length > 0, out);
    assert.match(running, /^\(read while the kernel runs\)\n\$2 = \d+$/m);
    assert.match(running, /^\s+\d+\s+\d+ \S\s+0 0x[0-9a-f]+ sh$/m, 'ps listed the guest shell');
    assert.match(running, /^The kernel is running: backtrace needs it stopped \('interrupt' stops it; print, x, ps, dmesg and lsmod read it while it runs\)\.$/m);
    assert.match(running, /^The kernel is running: info needs it stopped/m);
    assert.match(running, /^the kernel is running: \$rip needs a stopped CPU \(interrupt it first\)$/m);
    assert.match(running, /^the kernel is running: current needs a stopped CPU \(interrupt it first\)$/m);
    assert.match(running, /^\$3 = "swapper\/0/m);
    // Stopped again: no mark, registers and the stack are back.
    const stopped = out.slice(out.lastIndexOf('\$3 = '));
    const jiffies = [...out.matchAll(/^\$\d+ = (\d+)$/gm)].map((m) => BigInt(m[1]!));
    assert.equal(jiffies.length, 3, out);
    assert.ok(jiffies[2]! > jiffies[0]!, `jiffies moved on while the kernel ran: ${jiffies.join(', ')}`);
    assert.match(stopped, /^#0 {2}/m);
    assert.doesNotMatch(stopped.slice(stopped.indexOf('\n')), /read while the kernel runs/);
  } finally {
    await session.close();
  }
});

test('reads while running see the kernel move: jiffies read from shared RAM changes without a stop', async () => {
  const kernel = await getDebianKernel();
  const session = await Session.boot({ kernel, guestCommand: 'mkdir /tmp/test; while true; do :; done' });
  try {
    // Up to a stop in the booted kernel first: its page tables are then the ones kdive walks.
    await session.addBreakpoint('do_mkdirat');
    assert.equal((await session.resume()).kind, 'breakpoint');
    await session.deleteBreakpoint(1);
    const running = session.resume();
    const values = new Set<string>();
    for (let i = 0; i < 200 && values.size < 3; i++) {
      values.add((await session.evaluate('jiffies').catch((err: Error) => ({ text: err.message }))).text);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok([...values].every((v) => /^\d+$/.test(v)), [...values].join(' | '));
    assert.ok(values.size >= 3, `jiffies read while running: ${[...values].join(', ')}`);
    await assert.rejects(session.registers(), /^KdiveError: the kernel is running: reading registers needs a stopped CPU \(interrupt it first\)$/);
    const ev = await session.interrupt();
    assert.equal(ev.kind, 'stop');
    await running;
  } finally {
    await session.close();
  }
});
