import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unwindRegistersWithCfi } from './call-frame-info.js';

test('a CFA rule over a garbage sp wraps at 64 bits, as the CPU does, instead of making a 65-bit sp (found by npm run fuzz)', async () => {
  const rules = { cfa: { kind: 'register' as const, regno: 7, offset: 16 }, registers: new Map([[16, { kind: 'offset' as const, offset: -8 }]]), returnAddressRegister: 16 };
  const reads: bigint[] = [];
  const step = await unwindRegistersWithCfi(rules, new Map([[7, (1n << 64n) - 8n]]), async (a) => (reads.push(a), 0xffffffff81000000n));
  assert.equal(step!.cfa, 8n);
  assert.equal(step!.caller.get(7), 8n);
  assert.deepEqual(reads, [0n]);
  assert.equal(step!.caller.get(16), 0xffffffff81000000n);
});
