import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nopLength } from './nop-instructions.js';

// The lengths are the SDM's (and objdump's: test/arch/nop-instructions-vs-objdump.test.ts checks them against it).
const NOPS: [string, number][] = [
  ['90', 1], ['6690', 2], ['0f1f00', 3], ['0f1f4000', 4], ['0f1f440000', 5], ['660f1f440000', 6],
  ['0f1f8000000000', 7], ['0f1f840000000000', 8], ['660f1f840000000000', 9], ['f30f1efa', 4],
];
const NOT_NOPS = ['55', 'e800000000', '4889e5', 'c3', '0f1f48', 'f30f1efb', '0f0b'];

test('the NOP forms the kernel uses are recognised with their lengths, whatever follows them', () => {
  for (const [hex, length] of NOPS) {
    assert.equal(nopLength(Buffer.from(`${hex}cc`, 'hex')), length, hex);
    assert.equal(nopLength(Buffer.from(`${hex}90`, 'hex')), length, `${hex} then a nop`);
  }
});

test('other instructions are not NOPs', () => {
  for (const h of NOT_NOPS) assert.equal(nopLength(Buffer.from(`${h}cccccccc`, 'hex')), undefined, h);
});
