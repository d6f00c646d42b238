import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormatError } from '../../errors.js';
import { ByteCursor } from './byte-cursor.js';

test('a cursor at a NaN offset (a base attribute missing) fails as a FormatError naming the section, not by reading undefined (found by npm run fuzz)', () => {
  const c = new ByteCursor(Buffer.from([1, 2, 3]), NaN, '.debug_loclists', 'vmlinux');
  assert.throws(() => c.u8(), (e: Error) => e instanceof FormatError && /^vmlinux: at offset 0x0: \.debug_loclists: an offset that is no position in the section \(NaN\)/.test(e.message));
  assert.throws(() => new ByteCursor(Buffer.from([1]), -1, '.debug_info', 'vmlinux').u8(), FormatError);
  assert.equal(new ByteCursor(Buffer.from([7]), 0, '.debug_info', 'vmlinux').u8(), 7);
});
