import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEmulatedInstruction } from './entry-instruction.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('prologue instructions kdive applies itself instead of stepping', () => {
  assert.deepEqual(decodeEmulatedInstruction(hex('0f1f440000')), { length: 5, effect: 'none' });
  assert.deepEqual(decodeEmulatedInstruction(hex('f30f1efa')), { length: 4, effect: 'none' });
  assert.deepEqual(decodeEmulatedInstruction(hex('55 4889e5')), { length: 1, effect: 'push', register: 'rbp' });
  assert.deepEqual(decodeEmulatedInstruction(hex('4157')), { length: 2, effect: 'push', register: 'r15' });
  assert.deepEqual(decodeEmulatedInstruction(hex('4889e5')), { length: 3, effect: 'move', from: 'rsp', to: 'rbp', bits: 64 });
  assert.deepEqual(decodeEmulatedInstruction(hex('4989d7')), { length: 3, effect: 'move', from: 'rdx', to: 'r15', bits: 64 });
  assert.deepEqual(decodeEmulatedInstruction(hex('4c8bfa')), { length: 3, effect: 'move', from: 'rdx', to: 'r15', bits: 64 });
  assert.deepEqual(decodeEmulatedInstruction(hex('89f8')), { length: 2, effect: 'move', from: 'rdi', to: 'eax'.replace('e', 'r'), bits: 32 });
});

test('what changes flags, memory or control flow is stepped, not applied', () => {
  for (const code of ['4883ec10' /* sub $16,%rsp */, '31c0' /* xor %eax,%eax */, '8b4744' /* mov 0x44(%rdi),%eax */, 'e8 00000000' /* call */, 'c3', '48897c2408' /* mov %rdi,8(%rsp) */, '']) {
    assert.equal(decodeEmulatedInstruction(hex(code)), undefined, code);
  }
});
