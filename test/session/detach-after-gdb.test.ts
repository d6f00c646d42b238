import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { QmpClient } from '../../src/vm/qmp-client.js';
import { newQemuPids, qemuPids, runKdive, startKdive, until } from '../support/cli-runner.js';
import { getDebianKernel } from '../support/kernel-fixture.js';


/**
 * QEMU 7.2 keeps multiprocess mode once any client asked for it (a stock gdb does) and then
 * answers a plain `D` with E22, staying halted. kdive's detach must get the kernel running for
 * real, and say so only when it did.
 */
test('after a stock gdb has been attached, kdive debug --attach then detach leaves the kernel running (QMP query-status)', async () => {
  const kernel = await getDebianKernel();
  const before = qemuPids();
  const boot = startKdive(['boot', '--no-halt', '--console', '-g', 'i=0; while true; do i=$((i+1)); mkdir /tmp/d$i; echo made $i; sleep 1; done']);
  const console = boot.stderr;
  const out = boot.stdout;
  let qmp: QmpClient | undefined;
  try {
    await until('the guest loop', () => /made 2/.test(console()));
    const endpoint = /gdbstub on (127\.0\.0\.1:\d+)/.exec(out())?.[1];
    const control = /--vm (\S+)/.exec(out())?.[1];
    assert.ok(endpoint && control, out());
    // A stock gdb: connects (multiprocess+), breaks at do_mkdirat, and goes away without detaching.
    const gdb = await promisify(execFile)('gdb', ['-nx', '-batch', '-ex', `target remote ${endpoint}`, '-ex', 'break do_mkdirat', '-ex', 'continue', '-ex', 'disconnect', kernel.vmlinux!], { timeout: 300_000, maxBuffer: 1 << 24 });
    assert.match(gdb.stdout, /Breakpoint 1, .*do_mkdirat/, gdb.stdout + gdb.stderr);
    qmp = await QmpClient.connect(control, { timeoutMs: 10_000 });
    const status = async () => ((await qmp!.execute('query-status')) as { status: string }).status;
    assert.notEqual(await status(), 'running', 'gdb left the VM stopped');

    const debug = await runKdive(['debug', '--attach', endpoint, '--vmlinux', kernel.vmlinux!], { input: 'break do_mkdirat\ndetach\nquit\n', timeoutMs: 300_000 });
    assert.match(debug.stdout, /Breakpoint 1 at 0x[0-9a-f]+/, debug.stdout + debug.stderr);
    assert.match(debug.stdout, /^Detached; the kernel runs on\.$/m, debug.stdout + debug.stderr);
    assert.doesNotMatch(debug.stdout + debug.stderr, /could not remove|still halted/);
    assert.equal(await status(), 'running', 'the stub really let the kernel go');
    const made = console().match(/made \d+/g)!.length;
    await until('the guest going on', () => console().match(/made \d+/g)!.length > made + 1, 30_000);
  } finally {
    qmp?.close();
    boot.child.kill('SIGINT');
    await boot.exited;
  }
  assert.deepEqual(newQemuPids(before), []);
});
