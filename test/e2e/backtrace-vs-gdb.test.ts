import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Session } from '../../src/session/session.js';
import { DEBIAN_KERNELS } from '../support/kernel-fixture.js';
import { newQemuPids, qemuPids } from '../support/cli-runner.js';
import { scratchDir } from '../support/own-resources.js';

const run = promisify(execFile);

// gdb's frame walk as data: one line per frame, inline frames marked (gdb.INLINE_FRAME == 1).
const GDB_FRAMES_SCRIPT = `
python
f = gdb.newest_frame()
while f is not None:
    print("KDIVE-FRAME %x %s %d" % (f.pc(), f.name(), 1 if f.type() == gdb.INLINE_FRAME else 0))
    f = f.older()
end
`;

for (const { name: version, get, qemu } of DEBIAN_KERNELS) {
  test(`${version}: the ORC backtrace at do_mkdirat names the same physical frames, at the same pcs, as gdb at the same stop`, async () => {
    const kernel = await get();
    const before = qemuPids();
    const session = await Session.boot({ kernel, guestCommand: 'mkdir /tmp/test', qemu: await qemu() });
    try {
      await session.addBreakpoint('do_mkdirat');
      const event = await session.resume();
      assert.equal(event.kind, 'breakpoint', `no stop at do_mkdirat; the guest's console ends:\n${session.vm!.consoleText().slice(-1500)}`);
      const ours = await session.backtrace(event.kind === 'breakpoint' ? event.threadId : undefined);

      // Hand the stub to gdb: drop our connection without detaching, so QEMU keeps the VM stopped.
      session.target.close();
      const dir = scratchDir('kdive-gdb-');
      const script = path.join(dir, 'frames.gdb');
      await writeFile(script, GDB_FRAMES_SCRIPT);
      const { stdout } = await run('gdb', [
        '-nx', '-batch',
        '-ex', 'set pagination off',
        '-ex', `target remote ${session.vm!.gdb.host}:${session.vm!.gdb.port}`,
        '-x', script,
        '-ex', 'detach',
        kernel.vmlinux!,
      ], { maxBuffer: 16 << 20, timeout: 300_000 });
      const gdbFrames = stdout.split('\n').filter((l) => l.startsWith('KDIVE-FRAME ')).map((l) => {
        const [, pc, name, inline] = l.split(' ');
        return { pc: BigInt(`0x${pc}`), name: name!, inline: inline === '1' };
      });
      // gdb's CFI walk goes one step past entry_SYSCALL_64 into a frame at pc 0 with no name (it
      // reads user state as if it were a kernel frame); ORC stops at the user boundary instead.
      const physical = gdbFrames.filter((f) => !f.inline && !(f.pc === 0n && f.name === 'None'));
      assert.ok(physical.length >= 4, `gdb printed frames:\n${stdout}`);
      assert.deepEqual(
        ours.frames.filter((f) => !f.inlined).map((f) => `${f.function} 0x${f.pc.toString(16)}`),
        physical.map((f) => `${f.name} 0x${f.pc.toString(16)}`),
      );
      // With the inlined frames too, the whole list matches gdb's, names in order.
      assert.deepEqual(ours.frames.map((f) => f.function), gdbFrames.filter((f) => !(f.pc === 0n && f.name === 'None')).map((f) => f.name));
    } finally {
      await session.close();
    }
    assert.deepEqual(newQemuPids(before), []);
  });
}
