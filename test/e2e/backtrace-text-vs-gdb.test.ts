import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Session } from '../../src/session/session.js';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { replOutput } from '../support/repl-runner.js';

const repl = replOutput;

/**
 * The REPL's `bt` at a stop, then a stock gdb's `bt` at the same paused VM, line for line.
 * The one difference kept, on purpose: past entry_SYSCALL_64 gdb's CFI walk reads user registers
 * as kernel frames and prints more (`#7 0x0000000000000000 in ?? ()`, or user values read as
 * kernel addresses: `#7 0x0000000000000005 in fixed_percpu_data ()`, `#8 ...`); kdive's ORC walk stops at the user
 * boundary and prints where user space was instead (`(user space: rip=… rsp=…, syscall N)`).
 */
async function btAgainstGdb(guestCommand: string, breakAt: string, entryValues: boolean): Promise<void> {
  const kernel = await getDebianKernel();
  const session = await Session.boot({ kernel, guestCommand });
  try {
    await session.addBreakpoint(breakAt);
    assert.equal((await session.resume()).kind, 'breakpoint');
    const ours = (await repl(session, ['bt'])).trimEnd().split('\n');
    session.target.close();
    const { stdout } = await promisify(execFile)('gdb', ['-nx', '-batch', '-ex', `target remote ${session.vm!.gdb.host}:${session.vm!.gdb.port}`, '-ex', 'echo <<<\\n', '-ex', 'bt', kernel.vmlinux!], { maxBuffer: 1 << 26 });
    const gdbLines = stdout.split('<<<\n')[1]!.split('\n');
    // gdb's frames up to the user boundary; what its walk prints past it is not compared.
    const boundary = gdbLines.findIndex((l) => / in entry_SYSCALL_64 \(\)/.test(l));
    assert.ok(boundary > 0 && /^#\d+\s+0x[0-9a-f]{16} in /.test(gdbLines[boundary + 1] ?? ''), `gdb walks past the user boundary:\n${stdout}`);
    assert.match(ours[ours.length - 1]!, /^ {3}\(user space: rip=0x[0-9a-f]+ rsp=0x[0-9a-f]+, syscall \d+\)$/);
    assert.deepEqual(ours.slice(0, -1), gdbLines.slice(0, boundary + 1));
    if (entryValues) assert.ok(ours.some((l) => /@entry=/.test(l)), 'entry values from call sites are shown');
  } finally {
    await session.close();
  }
}

test('bt at do_mkdirat prints what gdb prints: pcs on the first frame at each call site, dfd=dfd@entry=-100, <optimized out> where gdb has it', async () => {
  await btAgainstGdb('mkdir /tmp/test', 'do_mkdirat', true);
});

test('bt at a socket the guest opens prints what gdb prints', async () => {
  await btAgainstGdb('busybox ifconfig lo 127.0.0.1 up', '__sys_socket', false);
});

test('info frame at frames 0 and 1 (an inlined one) reads as gdb reads it: called by, inlined into, caller of', async () => {
  const kernel = await getDebianKernel();
  const session = await Session.boot({ kernel, guestCommand: 'mkdir /tmp/test' });
  try {
    await session.addBreakpoint('do_mkdirat');
    assert.equal((await session.resume()).kind, 'breakpoint');
    const ours = await repl(session, ['echo <<<\\n', 'info frame', 'frame 1', 'echo <<<\\n', 'info frame']);
    session.target.close();
    const { stdout } = await promisify(execFile)('gdb', ['-nx', '-batch', '-ex', `target remote ${session.vm!.gdb.host}:${session.vm!.gdb.port}`, '-ex', 'echo <<<\\n', '-ex', 'info frame', '-ex', 'frame 1', '-ex', 'echo <<<\\n', '-ex', 'info frame', kernel.vmlinux!], { maxBuffer: 1 << 26 });
    const [, frame0, frame1] = stdout.replace(/\[Inferior 1 \(process 1\) detached\]\n?$/, '').split('<<<\n');
    const [, ours0, ours1] = ours.split('<<<\n');
    assert.equal(ours0, frame0);
    assert.equal(ours1, frame1);
  } finally {
    await session.close();
  }
});
