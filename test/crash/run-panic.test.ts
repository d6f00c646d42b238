import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newQemuPids, qemuPids, runKdive } from '../support/cli-runner.js';
import { checkPanicRun } from '../support/scenario-checks.js';
import { DEBIAN_KERNELS } from '../support/kernel-fixture.js';

for (const { name: version, spec, get, qemuFlags } of DEBIAN_KERNELS) {
  test(`${version}: kdive run --json: a guest that crashes the kernel gives one panic event with sysrq_handle_crash in its frames, exit 3, no QEMU left`, async () => {
    await get();
    const before = qemuPids();
    const r = await runKdive(['run', '--kernel', spec, ...qemuFlags, '--json', '--guest', 'echo c > /proc/sysrq-trigger']);
    checkPanicRun(r);
    assert.deepEqual(newQemuPids(before), []);
  });
}
