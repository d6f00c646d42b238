import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeUnexpectedEnd } from './qemu-launcher.js';

test('how QEMU ended, in one line: a signal, a crash with its last message, a SIGTERM from outside; nothing for a power-off', () => {
  assert.equal(describeUnexpectedEnd({ code: null, signal: 'SIGKILL' }, ''), 'QEMU was killed by SIGKILL');
  assert.equal(describeUnexpectedEnd({ code: null, signal: 'SIGABRT' }, 'qemu: warning: x\n**\nERROR:../accel/tcg/cpu-exec.c:917:cpu_exec: assertion failed\n'),
    'QEMU was killed by SIGABRT; its last message: ERROR:../accel/tcg/cpu-exec.c:917:cpu_exec: assertion failed');
  assert.equal(describeUnexpectedEnd({ code: 1, signal: null }, 'qemu-system-x86_64: -drive file=x: Could not open \'x\'\n'), "QEMU exited with status 1; its last message: qemu-system-x86_64: -drive file=x: Could not open 'x'");
  assert.equal(describeUnexpectedEnd({ code: 0, signal: null }, 'qemu-system-x86_64: terminating on signal 15 from pid 4242 (bash)\n'), 'QEMU was ended by signal 15 from process 4242, not by the guest');
  assert.equal(describeUnexpectedEnd({ code: 0, signal: null }, ''), undefined, 'the guest powered off');
});
