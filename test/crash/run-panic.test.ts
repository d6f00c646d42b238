import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newQemuPids, qemuPids, runKdive } from '../support/cli-runner.js';

test('kdive run --json: a guest that crashes the kernel gives one panic event with sysrq_handle_crash in its frames, exit 3, no QEMU left', async () => {
  const before = qemuPids();
  const r = await runKdive(['run', '--json', '--guest', 'echo c > /proc/sysrq-trigger']);
  assert.equal(r.code, 3, r.stderr);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; message?: string; frames?: { function: string }[]; dmesg?: string[] });
  const panics = events.filter((e) => e.event === 'panic');
  assert.equal(panics.length, 1);
  const p = panics[0]!;
  assert.equal(p.message, 'sysrq triggered crash');
  const names = p.frames!.map((f) => f.function);
  assert.equal(names[0], 'panic');
  assert.ok(names.includes('sysrq_handle_crash'), names.join(' <- '));
  assert.ok(p.dmesg!.some((l) => /sysrq: Trigger a crash/.test(l)));
  assert.deepEqual(newQemuPids(before), []);
});
