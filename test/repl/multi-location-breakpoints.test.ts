import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session } from '../../src/session/session.js';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { replOutput } from '../support/repl-runner.js';

const repl = replOutput;

test('live: 534 header locations in and out of the guest, a .c line inlined twice stops, a declaration line moves to the next line, N.M disables one location', async () => {
  const kernel = await getDebianKernel();
  // ifconfig opens a socket: __sys_socket_create, whose line 1643 gdb finds in two places (moved to 1644).
  const session = await Session.boot({ kernel, guestCommand: 'busybox ifconfig lo 127.0.0.1 up && mkdir /tmp/test' });
  try {
    const out = await repl(session, [
      'break include/linux/list.h:88',
      'delete 1',
      'break net/socket.c:1643',
      'break fs/namei.c:4168',
      'continue',
      'info breakpoints',
      'disable 2.1 2.2',
      'continue',
      'bt 1',
    ]);
    assert.match(out, /Breakpoint 1 at 0x[0-9a-f]+: include\/linux\/list\.h:88\. \(534 locations\)/);
    assert.match(out, /Breakpoint 2 at 0xffffffff8178208b: net\/socket\.c:1643\. \(2 locations\)/);
    assert.match(out, /Breakpoint 3 at 0xffffffff813632a0: file fs\/namei\.c, line 4169\./);
    // The socket stop comes (it never did with one location), in __sys_socket_create's line.
    assert.match(out, /\nBreakpoint 2, .*__sys_socket_create/);
    assert.match(out, /\n2       breakpoint     keep y   <MULTIPLE>         \n\tbreakpoint already hit 1 time\n2\.1                         y   0xffffffff8178208b in __sys_socket_create at net\/socket\.c:1644\n2\.2                         y   0xffffffff81782155 in __sys_socket_create at net\/socket\.c:1644\n/);
    assert.match(out, /\n3       breakpoint     keep y   0xffffffff813632a0 in do_mkdirat at fs\/namei\.c:4169\n/);
    // With both socket locations disabled the next stop is mkdir's.
    assert.match(out, /\nBreakpoint 3, do_mkdirat \(/);
    assert.equal(session.breakpoints.get(1), undefined);
    await session.deleteBreakpoint(2);
    await session.deleteBreakpoint(3);
    // Nothing of the 536 int3s stayed in the kernel: it runs list code all the time, and the guest ends well.
    const end = await session.resume();
    assert.equal(end.kind, 'exit');
    assert.equal(end.kind === 'exit' ? end.guestStatus : undefined, 0);
  } finally {
    await session.close();
  }
});
