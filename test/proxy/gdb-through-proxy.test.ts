import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { kdiveNodeArgs, newQemuPids, qemuPids } from '../support/cli-runner.js';
import { getDebianKernel } from '../support/kernel-fixture.js';

/** Starts a long-running kdive command and waits for a line matching `ready`. */
async function startKdive(args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray; output: () => string }> {
  const child = spawn(process.execPath, kdiveNodeArgs(args), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 240_000;
  for (;;) {
    const m = ready.exec(out);
    if (m) return { child, match: m, output: () => out };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`kdive ${args.join(' ')} did not get ready:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  await gone;
}

/** gdb's backtrace reduced to what must not depend on the path taken: function and file:line per frame. */
function frames(gdbOutput: string): string[] {
  return [...gdbOutput.matchAll(/^#\d+\s+(?:0x[0-9a-f]+ in )?(\S+) \(.*\) at (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
}

async function gdbBacktrace(port: number, vmlinux: string, extra: string[] = []): Promise<string> {
  const args = ['-nx', '-batch', '-ex', `target remote 127.0.0.1:${port}`, '-ex', 'break do_mkdirat', '-ex', 'continue', ...extra, '-ex', 'bt', '-ex', 'kill', vmlinux];
  const { stdout, stderr } = await promisify(execFile)('gdb', args, { timeout: 300_000, maxBuffer: 1 << 24 });
  return stdout + stderr;
}

test('a stock gdb through kdive proxy gets the same backtrace at do_mkdirat as attached directly; a second gdb is refused', async () => {
  const kernel = await getDebianKernel();
  const before = qemuPids();
  const ready = /gdbstub on 127\.0\.0\.1:(\d+)/;

  const direct = await startKdive(['boot', '--guest', 'mkdir /tmp/test'], ready);
  let directBt: string;
  try {
    directBt = await gdbBacktrace(Number(direct.match[1]), kernel.vmlinux!);
  } finally {
    await stop(direct.child);
  }

  const boot = await startKdive(['boot', '--guest', 'mkdir /tmp/test'], ready);
  const proxy = await startKdive(['proxy', '--to', `127.0.0.1:${boot.match[1]}`], /listening on 127\.0\.0\.1:(\d+)/);
  let proxiedBt: string;
  try {
    const port = Number(proxy.match[1]);
    // While this gdb is attached, a second one tries the same proxy from gdb's own shell.
    proxiedBt = await gdbBacktrace(port, kernel.vmlinux!, ['-ex', `shell gdb -nx -batch -ex 'target remote 127.0.0.1:${port}' 2>&1 | sed 's/^/SECOND: /'`]);
  } finally {
    await stop(proxy.child);
    await stop(boot.child);
  }
  const want = frames(directBt);
  assert.ok(want.length >= 4 && want[0]!.startsWith('do_mkdirat fs/namei.c:'), directBt);
  assert.ok(want.some((f) => f.startsWith('entry_SYSCALL_64 ')), directBt);
  assert.deepEqual(frames(proxiedBt), want, proxiedBt);
  assert.match(proxiedBt, /SECOND: .*another debugger is already attached through this kdive proxy/);
  assert.deepEqual(newQemuPids(before), []);
});
