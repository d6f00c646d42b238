import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeInstruction } from './instruction-decoder.js';

test('decodeInstruction: lengths and call/ret classes of hand-assembled x86-64 code', () => {
  const at = 0xffffffff81000000n;
  assert.deepEqual(decodeInstruction(Buffer.from('e801020304', 'hex'), at), { length: 5, isCall: true, isReturn: false }); // call rel32
  assert.deepEqual(decodeInstruction(Buffer.from('ffd0', 'hex'), at), { length: 2, isCall: true, isReturn: false }); // call *%rax
  assert.deepEqual(decodeInstruction(Buffer.from('c3', 'hex'), at), { length: 1, isCall: false, isReturn: true }); // ret
  assert.deepEqual(decodeInstruction(Buffer.from('0f1f440000', 'hex'), at), { length: 5, isCall: false, isReturn: false }); // nopl 0(%rax,%rax)
  assert.deepEqual(decodeInstruction(Buffer.from('48 8b 87 18 09 00 00'.replace(/ /g, ''), 'hex'), at), { length: 7, isCall: false, isReturn: false }); // mov 0x918(%rdi),%rax
  assert.equal(decodeInstruction(Buffer.from('0f0b', 'hex'), at)?.length, 2); // ud2
  assert.equal(decodeInstruction(Buffer.from('06', 'hex'), at), undefined); // push %es: invalid in 64-bit mode
});
