import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newQemuPids, qemuPids, runKdive } from '../support/cli-runner.js';
import { checkDebugScript, DEBUG_SCRIPT } from '../support/scenario-checks.js';

test('kdive debug: break, continue, bt, p current->comm, info registers at do_mkdirat (the same script runs on QEMU 10 in test/vm/qemu10.test.ts)', async () => {
  const before = qemuPids();
  const r = await runKdive(['debug', '--guest', 'mkdir /tmp/x'], { input: `${DEBUG_SCRIPT.join('\n')}\n`, timeoutMs: 300_000 });
  checkDebugScript(r);
  assert.deepEqual(newQemuPids(before), []);
});
