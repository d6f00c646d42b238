import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkQemuChoice, qemuChoice, resolveQemu } from './qemu-choice.js';
import { SYSTEM_QEMU } from './qemu-binary.js';

test('--qemu, else KDIVE_QEMU, else the system QEMU', () => {
  assert.deepEqual(qemuChoice('10', { KDIVE_QEMU: '/x/qemu' }), { value: '10', label: '--qemu' });
  assert.deepEqual(qemuChoice(undefined, { KDIVE_QEMU: '10' }), { value: '10', label: 'KDIVE_QEMU=' });
  assert.deepEqual(qemuChoice(undefined, { KDIVE_QEMU: '' }), { value: 'system', label: '--qemu' });
  assert.deepEqual(qemuChoice(undefined, {}), { value: 'system', label: '--qemu' });
});

test('--qemu takes system, a known release or a path; anything else is a usage error naming where it came from', async () => {
  for (const ok of ['system', '10', '/opt/qemu/bin/qemu-system-x86_64', './qemu-system-x86_64']) assert.equal(checkQemuChoice(ok), ok);
  assert.throws(() => checkQemuChoice('9'), (e: Error & { exitCode?: number }) => e.exitCode === 2 && /^--qemu 9: expected system \(the system's qemu-system-x86_64\), 10 \(fetched/.test(e.message));
  assert.throws(() => checkQemuChoice('sytem', 'KDIVE_QEMU='), /^KdiveError: KDIVE_QEMU=sytem: expected system/);
  assert.equal(await resolveQemu('system'), SYSTEM_QEMU);
});
