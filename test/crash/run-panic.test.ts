import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newQemuPids, qemuPids, runKdive } from '../support/cli-runner.js';
import { checkPanicRun } from '../support/scenario-checks.js';

test('kdive run --json: a guest that crashes the kernel gives one panic event with sysrq_handle_crash in its frames, exit 3, no QEMU left', async () => {
  const before = qemuPids();
  const r = await runKdive(['run', '--json', '--guest', 'echo c > /proc/sysrq-trigger']);
  checkPanicRun(r);
  assert.deepEqual(newQemuPids(before), []);
});
