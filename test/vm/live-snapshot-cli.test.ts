import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newQemuPids, qemuPids, runKdive, startKdive, until } from '../support/cli-runner.js';
import { getDebianKernel } from '../support/kernel-fixture.js';

const ticks = (text: string) => [...text.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));


test('kdive snapshot --vm: save a running kdive boot VM, let it run on, load, and the guest is back where it was', async () => {
  await getDebianKernel();
  const before = qemuPids();
  const boot = startKdive(['boot', '--no-halt', '--console', '-g', 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done']);
  const console = boot.stderr;
  try {
    await until('tick 2', () => ticks(console()).includes(2));
    const socket = /--vm (\S+)/.exec(boot.stdout())?.[1];
    assert.ok(socket, boot.stdout());
    const save = await runKdive(['snapshot', 'save', 'counted', '--vm', socket]);
    assert.equal(save.code, 0, save.stderr);
    const atSave = Math.max(...ticks(console()));
    assert.equal((await runKdive(['snapshot', 'list', '--vm', socket])).stdout.trim(), 'counted');
    await until('three more ticks', () => Math.max(...ticks(console())) >= atSave + 3);
    const seenBeforeLoad = ticks(console()).length;
    const highest = Math.max(...ticks(console()));
    const load = await runKdive(['snapshot', 'load', 'counted', '--vm', socket]);
    assert.equal(load.code, 0, load.stderr);
    // The counter lives in the guest's shell: after loadvm it resumes from the saved value, not from
    // the highest. A tick the guest printed between counting and the load taking effect may come
    // first (it did: 7,4 with the save at 3), so the restored value is looked for among the next ones.
    const restored = () => ticks(console()).slice(seenBeforeLoad).some((t) => t <= atSave + 1);
    await until('the counter back at the saved value', restored, 30_000).catch(() => undefined);
    const next = ticks(console()).slice(seenBeforeLoad);
    assert.ok(restored() && Math.min(...next) < highest, `after the load: ${next.join(',')}; saved at ${atSave}, reached ${highest}`);

    const missing = await runKdive(['snapshot', 'load', 'no-such', '--vm', socket]);
    assert.notEqual(missing.code, 0);
    assert.equal(missing.stderr.trim(), "kdive: no snapshot named 'no-such' (kdive snapshot list shows them)");
    assert.equal((await runKdive(['snapshot', 'delete', 'counted', '--vm', socket])).code, 0);
    assert.equal((await runKdive(['snapshot', 'list', '--vm', socket])).stdout.trim(), '');
  } finally {
    boot.child.kill('SIGINT');
    await boot.exited;
  }
  assert.deepEqual(newQemuPids(before), []);
  const gone = await runKdive(['snapshot', 'list', '--vm', '/tmp/kdive-no-such-vm/control.qmp']);
  assert.equal(gone.code, 2);
  assert.match(gone.stderr.trim(), /^kdive: --vm \/tmp\/kdive-no-such-vm\/control\.qmp: no such socket/);
});
