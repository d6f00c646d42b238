import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BreakpointTable } from './breakpoints.js';
import { cpuOfThread } from './thread-cpu.js';

test('breakpoints sharing an address keep it in use until the last one goes', () => {
  const t = new BreakpointTable();
  const a = t.add('do_mkdirat', 0x1000n, 'software');
  const b = t.add('*0x1000', 0x1000n, 'software');
  assert.notEqual(a.id, b.id);
  assert.deepEqual(t.at(0x1000n).map((bp) => bp.id), [a.id, b.id]);
  assert.equal(t.addressInUse(0x1000n, a.id), true);
  t.remove(b.id);
  assert.equal(t.addressInUse(0x1000n, a.id), false);
  a.enabled = false;
  assert.deepEqual(t.at(0x1000n), []);
});

test('QEMU thread ids map to CPU numbers', () => {
  assert.equal(cpuOfThread('01'), 0);
  assert.equal(cpuOfThread('02'), 1);
  assert.equal(cpuOfThread('0a'), 9);
  assert.equal(cpuOfThread('p01.03'), 2);
  assert.equal(cpuOfThread(undefined), 0);
});
