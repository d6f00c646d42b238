import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { kdiveNodeArgs, newQemuPids, qemuPids } from '../support/cli-runner.js';
import { getDebianKernel } from '../support/kernel-fixture.js';

test('kdive boot: a panicking guest is paused by pvpanic, not rebooted away; a stock gdb\'s continue ends in panic()', async () => {
  const kernel = await getDebianKernel();
  const before = qemuPids();
  const child = spawn(process.execPath, kdiveNodeArgs(['boot', '--guest', 'echo c > /proc/sysrq-trigger']), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    let port: string | undefined;
    for (let i = 0; i < 2400 && !port; i++) {
      port = /gdbstub on (127\.0\.0\.1:\d+)/.exec(out)?.[1];
      if (!port) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(port, out);
    const { stdout } = await promisify(execFile)('gdb', ['-nx', '-batch', '-ex', `target remote ${port}`, '-ex', 'continue', '-ex', 'bt', kernel.vmlinux!], { timeout: 300_000, maxBuffer: 1 << 24 });
    // Without pvpanic the kernel would reboot (panic=-1) and QEMU exit: gdb would see the inferior go, not a stop.
    assert.match(stdout, /^#\d+\s+0x[0-9a-f]+ in panic \(fmt=.*"sysrq triggered crash\\n"\) at kernel\/panic\.c:\d+$/m);
    assert.doesNotMatch(stdout, /Remote connection closed|exited normally/);
    for (let i = 0; i < 100 && !/panicked/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(out, /kdive boot: the guest kernel panicked; QEMU paused it \(pvpanic\)/);
  } finally {
    child.kill('SIGINT');
    await exited;
  }
  assert.deepEqual(newQemuPids(before), []);
});
