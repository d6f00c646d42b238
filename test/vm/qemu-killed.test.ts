import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kdiveRunFolders } from '../support/own-resources.js';
import { newQemuPids, qemuPids, startKdive, until } from '../support/cli-runner.js';
import { getDebianKernel } from '../support/kernel-fixture.js';

/** The one QEMU this test started since `before`, once it runs. */
async function ourQemu(before: Set<number>): Promise<number> {
  await until('our QEMU', () => newQemuPids(before).length === 1, 120_000);
  return newQemuPids(before)[0]!;
}

test('kill -9 of the QEMU under kdive run: one line at once with the signal, not "powered off"; no QEMU or run folder left', async () => {
  await getDebianKernel();
  const before = qemuPids();
  const run = startKdive(['run', '--break', 'do_mkdirat', '--guest', 'sleep 100000']);
  try {
    await until('the guest to boot', () => /Booting/.test(run.stdout()), 240_000);
    const pid = await ourQemu(before);
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const code = await run.exited;
    assert.ok(Date.now() - killedAt < 10_000, `reported in ${Date.now() - killedAt} ms`);
    assert.notEqual(code, 0);
    assert.deepEqual(run.stderr().split('\n').filter((l) => l.startsWith('kdive:')), ['kdive: QEMU was killed by SIGKILL; the guest command did not finish'], run.stderr());
    assert.doesNotMatch(run.stdout() + run.stderr(), /powered off/);
  } finally {
    run.child.kill('SIGKILL');
  }
  assert.deepEqual(newQemuPids(before), []);
  assert.deepEqual(kdiveRunFolders(), []);
});

test('kill -9 of the QEMU under kdive debug: the REPL says so at once, later commands say the VM is gone, quit leaves', async () => {
  await getDebianKernel();
  const before = qemuPids();
  const repl = startKdive(['debug', '--guest', 'sleep 100000'], { stdin: 'pipe' });
  try {
    await until('the prompt', () => /Type "continue"/.test(repl.stdout()), 240_000);
    const pid = await ourQemu(before);
    repl.child.stdin!.write('continue\n');
    await until('the kernel running', () => /Continuing\./.test(repl.stdout()), 30_000);
    await new Promise((r) => setTimeout(r, 2000));
    process.kill(pid, 'SIGKILL');
    await until('the report', () => /the VM is gone\./.test(repl.stdout()), 10_000);
    assert.match(repl.stdout(), /^QEMU was killed by SIGKILL; the VM is gone\.$/m);
    repl.child.stdin!.write('bt\ninfo registers rip\n');
    await until('two answers', () => (repl.stdout().match(/^The VM is gone/gm) ?? []).length === 2, 30_000);
    assert.match(repl.stdout(), /^The VM is gone \(QEMU was killed by SIGKILL\): bt cannot run\. quit leaves\.$/m);
    repl.child.stdin!.end('quit\n');
    assert.equal(await repl.exited, 0, repl.stderr());
    const all = repl.stdout() + repl.stderr();
    assert.doesNotMatch(all, /powered off/);
    assert.equal((all.match(/QEMU was killed by SIGKILL; the VM is gone/g) ?? []).length, 1, 'said once');
  } finally {
    repl.child.kill('SIGKILL');
  }
  assert.deepEqual(newQemuPids(before), []);
  assert.deepEqual(kdiveRunFolders(), []);
});
