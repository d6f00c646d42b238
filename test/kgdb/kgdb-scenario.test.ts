import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { bootKgdbSession } from '../../src/session/kgdb-boot.js';
import { GdbRemoteTarget } from '../../src/target/gdb-remote/index.js';
import { ConsoleDemux } from '../../src/transport/console-demux.js';
import { kdiveNodeArgs, newQemuPids, qemuPids, runKdive } from '../support/cli-runner.js';
import { getKgdbKernel } from '../support/kgdb-kernel-fixture.js';
import { checkKgdbMkdirRun } from '../support/scenario-checks.js';

test('kgdb: the mkdir scenario over the serial console stops at do_mkdirat with a backtrace to entry_SYSCALL_64, and W03 is a clean exit', async () => {
  const kernel = await getKgdbKernel();
  const before = qemuPids();
  const r = await runKdive(['run', '--json', '--kernel', kernel.spec, '--transport', 'kgdb', '--break', 'do_mkdirat', '--guest', 'mkdir /tmp/test && ls -d /tmp/test']);
  checkKgdbMkdirRun(r);
  assert.deepEqual(newQemuPids(before), []);
});

test('kgdb: a break-in (telnet BREAK + g) stops a guest busy loop; console lines stay intact while the debugger is attached; threads are tasks', async () => {
  const kernel = await getKgdbKernel();
  const lines = [1, 2, 3, 4, 5].map((i) => `LINE-${i}-abcdefghijklmnopqrstuvwxyz-0123456789`);
  const { session, demux } = await bootKgdbSession({ kernel, guestCommand: `${lines.map((l) => `echo ${l}`).join('; ')}; echo BUSY; while :; do :; done` });
  try {
    // kgdbwait: the kernel waits for us; insert nothing and let it run into the busy loop.
    const running = session.resume();
    for (let i = 0; i < 2400 && !demux.text().includes('BUSY'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(demux.text().includes('BUSY'), demux.text().slice(-1500));
    for (const l of lines) assert.ok(demux.text().split(/\r?\n/).includes(l), `console line ${l} intact`);
    const stop = await session.interrupt();
    assert.equal(stop, await running);
    assert.equal(stop.kind, 'stop');
    const rip = (await session.registers()).get('rip')!;
    assert.ok(rip >= 0xffffffff80000000n, `stopped in the kernel at 0x${rip.toString(16)}`);
    const threads = await session.threads();
    assert.ok(threads.some((t) => /sh|init/.test(t.description ?? '')), JSON.stringify(threads));
    // Running again after the break-in, and the console keeps flowing into the log.
    const again = session.resume();
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await session.interrupt()).kind, 'stop');
    await again;
  } finally {
    await session.close();
  }
});

test('kgdb: a serial peer that is not kgdb gives a timeout with a clear message', async () => {
  // A "serial line" that only ever prints console text and never answers a packet.
  const server = net.createServer((s) => {
    s.write('Debian GNU/Linux 12 login: ');
    s.on('data', () => s.write('\r\nLogin incorrect\r\n'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sock = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const demux = new ConsoleDemux((b) => sock.write(b));
  sock.on('data', (d: Buffer) => demux.push(d));
  try {
    await assert.rejects(GdbRemoteTarget.connect(demux.rsp, { profile: 'kgdb', timeoutMs: 2000, name: 'kgdb on 127.0.0.1' }), (err: Error) => {
      assert.match(err.message, /kgdb on 127\.0\.0\.1/);
      assert.match(err.message, /no (reply|answer)|timed? ?out|within/i);
      assert.equal(err.message.split('\n').length, 1);
      return true;
    });
  } finally {
    sock.destroy();
    server.close();
  }
});

test('kgdb: a stock gdb through kdive boot --transport kgdb gets the same backtrace at do_mkdirat as kdive itself', async () => {
  const kernel = await getKgdbKernel();
  const before = qemuPids();
  const { spawn, execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  // Paths of an out-of-tree build are absolute: compare them from the source tree's root on.
  const rel = (f: string) => f.replace(/^.*\/linux-source-[\d.]+\//, '');
  const frames = (text: string) => [...text.matchAll(/^#\d+\s+(?:0x[0-9a-f]+ in )?(\S+) \(.*\) at (\S+?):(\d+)$/gm)].map((m) => `${m[1]} ${rel(m[2]!)}:${m[3]}`);

  const ours = await runKdive(['run', '--kernel', kernel.spec, '--transport', 'kgdb', '--break', 'do_mkdirat', '--guest', 'mkdir /tmp/test']);
  const kdiveFrames = [...ours.stdout.matchAll(/^#\d+\s+0x[0-9a-f]+ in (\S+?)(?:\+0x[0-9a-f]+)?(?: \(.*?\))? at (\S+?):(\d+)(?:\s|$)/gm)].map((m) => `${m[1]} ${rel(m[2]!)}:${m[3]}`);

  const boot = spawn(process.execPath, kdiveNodeArgs(['boot', '--kernel', kernel.spec, '--transport', 'kgdb', '--guest', 'mkdir /tmp/test']), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  boot.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  boot.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    for (let i = 0; i < 2400 && !/gdb on 127\.0\.0\.1:\d+/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    const port = /gdb on 127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    assert.ok(port, out);
    const { stdout } = await promisify(execFile)('gdb', ['-nx', '-batch', '-ex', `target remote 127.0.0.1:${port}`, '-ex', 'break do_mkdirat', '-ex', 'continue', '-ex', 'bt', '-ex', 'detach', kernel.vmlinux!], { timeout: 300_000 });
    const gdbFrames = frames(stdout);
    assert.ok(gdbFrames[0]?.startsWith('do_mkdirat fs/namei.c:'), stdout);
    assert.ok(gdbFrames.length >= 3, stdout);
    // kdive's text backtrace names the same physical frames and lines where both show a line.
    // Frame 0's line differs by design (gdb skips the prologue, kdive breaks at the entry); the callers match.
    assert.ok(gdbFrames.some((f) => f.startsWith('entry_SYSCALL_64 ')), stdout);
    for (const f of gdbFrames.slice(1)) assert.ok(kdiveFrames.includes(f), `${f} in kdive's\n${kdiveFrames.join('\n')}\ngdb:\n${stdout}`);
  } finally {
    const gone = new Promise((r) => boot.once('exit', r));
    boot.kill('SIGINT');
    await gone;
  }
  assert.deepEqual(newQemuPids(before), []);
});
