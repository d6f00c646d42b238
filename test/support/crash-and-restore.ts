import assert from 'node:assert/strict';
import { Session, type SessionEvent } from '../../src/session/session.js';
import { catchPanics, isPanicStop, panicReport } from '../../src/crash/panic-report.js';
import type { QemuBinary } from '../../src/vm/qemu-binary.js';
import type { QmpVersion } from '../../src/vm/qmp-message.js';
import { getDebianKernel } from './kernel-fixture.js';

/**
 * The crash-and-restore scenario (test/crash/panic-and-snapshot.test.ts on the system QEMU,
 * test/vm/qemu10.test.ts on QEMU 10); returns the QEMU version QMP greeted with.
 *
 * Crash and restore: the guest waits for its hostname to change. kdive saves a live snapshot,
 * sets the hostname to "crash" in kernel memory (the guest then writes c to sysrq-trigger),
 * catches the panic with its backtrace, loads the snapshot, sets "done", and the guest exits 0.
 */
export async function crashAndRestore(opts: { qemu?: QemuBinary } = {}): Promise<QmpVersion | undefined> {
  const kernel = await getDebianKernel();
  let console = '';
  const guest = 'echo LOOPING; while :; do case $(hostname) in crash) echo c > /proc/sysrq-trigger;; done) exit 0;; esac; sleep 1; done';
  const session = await Session.boot({ kernel, guestCommand: guest, snapshots: true, qemu: opts.qemu, onConsole: (t) => (console += t) });
  try {
    const catcher = await catchPanics(session);
    const running = session.resume();
    for (let i = 0; i < 2400 && !console.includes('LOOPING'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(console.includes('LOOPING'), 'the guest reached its loop');
    const paused = await session.interrupt();
    assert.equal(paused, await running);

    await session.saveSnapshot('before-crash');
    assert.deepEqual(await session.listSnapshots(), ['before-crash']);
    const nodename = (await session.evaluate('&init_uts_ns.name.nodename')).scalar!;
    await session.target.writeMemory(nodename, Buffer.from('crash\0'));

    const ev: SessionEvent = await session.resume();
    assert.ok(isPanicStop(ev, catcher), `stopped at panic(), got ${ev.kind}`);
    const report = await panicReport(session, ev as Extract<SessionEvent, { kind: 'breakpoint' }>);
    assert.equal(report.message, 'sysrq triggered crash');
    const names = report.frames.map((f) => f.function);
    assert.equal(names[0], 'panic');
    assert.ok(names.includes('sysrq_handle_crash'), names.join(' <- '));
    assert.ok(names.includes('entry_SYSCALL_64'));
    assert.ok(report.dmesgTail.some((l) => l.includes('sysrq: Trigger a crash')), report.dmesgTail.join('\n'));

    // Back to before the crash: the guest is in its loop again and this time is told to finish.
    await session.loadSnapshot('before-crash');
    assert.equal((await session.evaluate('init_uts_ns.name.nodename')).text.startsWith('"crash'), false);
    await session.target.writeMemory(nodename, Buffer.from('done\0'));
    const end = await session.resume();
    assert.equal(end.kind, 'exit');
    assert.equal((end as Extract<SessionEvent, { kind: 'exit' }>).guestStatus, 0);
    return session.vm?.qmp.version;
  } finally {
    await session.close();
  }
}
