/**
 * QEMU 10 (bookworm-backports, unpacked into kdive's cache by `kdive qemu fetch 10`) beside the
 * system's 7.2: the scenarios the 7.2 tests run, with the same checks (test/support/scenario-checks.ts,
 * crash-and-restore.ts), and the two gdbstubs compared packet by packet.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { TerminalProgress } from '../../src/cli/progress/terminal-progress.js';
import { RspConnection } from '../../src/target/gdb-remote/index.js';
import { connectTcp } from '../../src/transport/index.js';
import { freeLoopbackPort } from '../../src/vm/free-port.js';
import { qemuCommand, qemuVersion, SYSTEM_QEMU, type QemuBinary } from '../../src/vm/qemu-binary.js';
import { qemuOfRelease, type CachedQemu } from '../../src/vm/qemu-fetch.js';
import { kdiveNodeArgs, newQemuPids, qemuPids, runKdive } from '../support/cli-runner.js';
import { crashAndRestore } from '../support/crash-and-restore.js';
import { getDebianKernel } from '../support/kernel-fixture.js';
import { getKgdbKernel } from '../support/kgdb-kernel-fixture.js';
import { qemuProgramsDuring } from '../support/qemu-seen.js';
import { checkDebugScript, checkKgdbMkdirRun, checkMkdirRun, checkPanicRun, DEBUG_SCRIPT } from '../support/scenario-checks.js';

let qemu10: CachedQemu;

before(async () => {
  await getDebianKernel();
  // As scripts/test.sh does before the suite: fetched once, then from the cache without the network.
  qemu10 = await qemuOfRelease('10', { progress: new TerminalProgress() });
});

/** Runs kdive, and says which QEMU programs it started meanwhile; none may be left behind. */
async function kdiveOn(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  const before = qemuPids();
  const { result, programs } = await qemuProgramsDuring(() => runKdive(args, { ...opts, timeoutMs: 600_000 }));
  assert.deepEqual(newQemuPids(before), [], 'no QEMU left behind');
  return { r: result, programs: [...programs] };
}

test('kdive qemu list shows the system QEMU 7.2 and the cached QEMU 10', async () => {
  const r = await runKdive(['qemu', 'list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout) as { system: { version: string }; cached: { release: string; version: string; path: string }[] };
  assert.match(list.system.version, /^7\.2\./);
  assert.ok(list.cached.some((q) => q.release === '10' && /^10\./.test(q.version) && q.path === qemu10.path), r.stdout);
  assert.match(qemuVersion(qemu10), /^10\.0\./);
});

test('QEMU 10: kdive run --qemu 10 --json, the mkdir scenario: do_mkdirat down to entry_SYSCALL_64, guest status 0', async () => {
  const { r, programs } = await kdiveOn(['run', '--qemu', '10', '--json', '--break', 'do_mkdirat', '--guest', 'mkdir /tmp/test && ls -d /tmp/test']);
  checkMkdirRun(r, (await getDebianKernel()).vmlinux!);
  assert.deepEqual(programs, [qemu10.path]);
});

test('QEMU 10: a REPL script through kdive debug --qemu 10 (break, continue, bt, p current->comm, info registers)', async () => {
  const { r, programs } = await kdiveOn(['debug', '--qemu', '10', '--guest', 'mkdir /tmp/x'], { input: `${DEBUG_SCRIPT.join('\n')}\n` });
  checkDebugScript(r);
  assert.deepEqual(programs, [qemu10.path]);
});

test('QEMU 10: the panic report of kdive run (KDIVE_QEMU=10 as the default)', async () => {
  const { r, programs } = await kdiveOn(['run', '--json', '--guest', 'echo c > /proc/sysrq-trigger'], { env: { KDIVE_QEMU: '10' } });
  checkPanicRun(r);
  assert.deepEqual(programs, [qemu10.path]);
});

test('QEMU 10: live snapshot save and load around a caught panic (savevm/loadvm/info snapshots over QMP), the guest then powers off', async () => {
  const version = await crashAndRestore({ qemu: qemu10 });
  assert.equal(version?.major, 10, 'QMP greeted as QEMU 10');
});

test('QEMU 10: -action panic=pause (pvpanic) pauses a panicking guest of kdive boot --qemu 10', async () => {
  const before = qemuPids();
  const child = spawn(process.execPath, kdiveNodeArgs(['boot', '--qemu', '10', '--no-halt', '--guest', 'echo c > /proc/sysrq-trigger']), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    for (let i = 0; i < 2400 && !/panicked/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(out, /kdive boot: the guest kernel panicked; QEMU paused it \(pvpanic\)/);
    // Paused, not rebooted away (panic=-1 would end QEMU): kdive boot still runs.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(child.exitCode, null, out);
  } finally {
    child.kill('SIGINT');
    await exited;
  }
  assert.deepEqual(newQemuPids(before), []);
});

test('QEMU 10: kgdb on the KGDB kernel, the mkdir scenario over the serial console', async () => {
  const kernel = await getKgdbKernel();
  const { r, programs } = await kdiveOn(['run', '--qemu', '10', '--json', '--kernel', kernel.spec, '--transport', 'kgdb', '--break', 'do_mkdirat', '--guest', 'mkdir /tmp/test && ls -d /tmp/test']);
  checkKgdbMkdirRun(r);
  assert.deepEqual(programs, [qemu10.path]);
});

/** What a gdbstub answers a fresh client, packet by packet, halted at the reset vector. */
async function gdbstubConversation(qemu: QemuBinary): Promise<Record<string, string>> {
  const port = await freeLoopbackPort();
  const cmd = qemuCommand(qemu, ['-accel', 'tcg', '-display', 'none', '-S', '-gdb', `tcp:127.0.0.1:${port}`, '-m', '64', '-serial', 'none', '-monitor', 'none', '-nodefaults']);
  const child = spawn(cmd.file, cmd.args, { stdio: 'ignore', detached: true, env: cmd.env });
  const gone = new Promise((r) => child.once('exit', r));
  try {
    const conn = new RspConnection(await connectTcp('127.0.0.1', port, { retryUntilMs: 10_000 }), { timeoutMs: 10_000 });
    const replies: Record<string, string> = {};
    // What a stock gdb asks first; then kdive's own questions.
    replies.qSupported = await conn.request('qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vfork-events+;exec-events+;vContSupported+;QThreadEvents+;no-resumed+;xmlRegisters=i386');
    conn.drainStops();
    replies.QStartNoAckMode = await conn.request('QStartNoAckMode');
    replies['vCont?'] = await conn.request('vCont?');
    replies['target.xml'] = await conn.request('qXfer:features:read:target.xml:0,7fd');
    replies['i386-64bit.xml'] = (await conn.request('qXfer:features:read:i386-64bit.xml:0,ffb')).slice(0, 200);
    replies['?'] = await conn.request('?', { wantsStop: true });
    replies.qfThreadInfo = await conn.request('qfThreadInfo');
    replies.qsThreadInfo = await conn.request('qsThreadInfo');
    replies.qC = await conn.request('qC');
    replies['qAttached'] = await conn.request('qAttached:1');
    replies.g = String((await conn.request('g')).length);
    conn.close();
    return replies;
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await gone;
  }
}

test('the gdbstubs of QEMU 7.2 and 10 answer alike: qSupported (no no-ack mode, no reverse execution outside replay), target description, thread ids, stop reply', async () => {
  const old = await gdbstubConversation(SYSTEM_QEMU);
  const now = await gdbstubConversation(qemu10);
  assert.deepEqual(now, old);
  assert.equal(old.qSupported, 'PacketSize=1000;qXfer:features:read+;vContSupported+;multiprocess+');
  assert.equal(old.QStartNoAckMode, '');
  assert.equal(old['?'], 'T05thread:p01.01;');
  assert.equal(old.qfThreadInfo, 'mp01.01');
  assert.equal(old.g, String(608 * 2));
});
