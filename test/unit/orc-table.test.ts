import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeOrcFlags, OrcReg, OrcTable, orcFormatForVersion, orcFormatFromHeader } from '../../src/symbols/orc/index.js';

/** Raw tables: [ip, sp_offset, flags word] rows, in the given (possibly unsorted) order. */
function raw(rows: [number, number, number][], format: 'v1' | 'v2' | 'v3' = 'v1', tableAt = 0xffffffff82000000n): OrcTable {
  const ips = Buffer.alloc(rows.length * 4);
  const entries = Buffer.alloc(rows.length * 6);
  rows.forEach(([ip, spOff, flags], i) => {
    ips.writeInt32LE(ip - 4 * i, 4 * i); // ip is relative to tableAt
    entries.writeInt16LE(spOff, i * 6);
    entries.writeUInt16LE(flags, i * 6 + 4);
  });
  return OrcTable.fromBuffers(tableAt, ips, entries, format);
}

const SP8_CALL = OrcReg.SP; // v1: sp_reg SP, type CALL (0)
const WEAK = 0; // sp_reg UNDEFINED, end 0

test('the table is sorted by ip; at equal ips the weak terminator goes first and find() takes the rightmost', () => {
  // Unsorted input, and at -0x1000 a real entry listed BEFORE a weak terminator at the same ip.
  const t = raw([[-0x0800, 8, SP8_CALL], [-0x1000, 24, SP8_CALL], [-0x1000, 0, WEAK], [-0x0400, 0, 0x400 /* end */]]);
  const at = 0xffffffff82000000n;
  assert.equal(t.length, 4);
  assert.equal(t.find(at - 0x1001n), undefined); // below the first entry
  const e = t.find(at - 0x1000n)!;
  assert.equal(e.ip, at - 0x1000n);
  assert.equal(e.spOffset, 24); // the real entry, not the terminator
  assert.equal(e.type, 'call');
  assert.equal(t.find(at - 0x0801n)!.spOffset, 24);
  assert.equal(t.find(at - 0x0800n)!.spOffset, 8);
  const end = t.find(at)!; // past the last entry: the last one covers it
  assert.equal(end.type, 'end-of-stack');
  assert.equal(end.spReg, OrcReg.UNDEFINED);
  assert.equal(end.end, true);
  // With a KASLR slide the run-time address is shifted back before the lookup.
  assert.equal(t.find(at - 0x0800n + 0x3400000n, 0x3400000n)!.spOffset, 8);
  assert.deepEqual([0, 1, 2, 3].map((i) => t.entryAt(i).ip - at), [-0x1000n, -0x1000n, -0x800n, -0x400n]);
  assert.equal(t.entryAt(0).type, 'undefined');
});

test('flag layouts: v1 (≤6.2), v2 (6.3, signal bit 10, end bit 11), v3 (≥6.4, 3-bit type, signal bit 11)', () => {
  // v1: SP, bp PREV_SP, REGS_PARTIAL, end 0.
  assert.deepEqual(decodeOrcFlags(0x5 | (1 << 4) | (2 << 8), 'v1'), { spReg: 5, bpReg: 1, type: 'regs-partial', end: false, signal: true });
  assert.deepEqual(decodeOrcFlags(0x400, 'v1'), { spReg: 0, bpReg: 0, type: 'end-of-stack', end: true, signal: false });
  assert.deepEqual(decodeOrcFlags(0x0, 'v1'), { spReg: 0, bpReg: 0, type: 'undefined', end: false, signal: false });
  // v2: CALL with the signal bit.
  assert.deepEqual(decodeOrcFlags(0x5 | 0x400, 'v2'), { spReg: 5, bpReg: 0, type: 'call', end: false, signal: true });
  assert.deepEqual(decodeOrcFlags(0x800, 'v2'), { spReg: 0, bpReg: 0, type: 'end-of-stack', end: true, signal: false });
  // v3: types 0..4, signal at bit 11.
  assert.equal(decodeOrcFlags(0x5 | (2 << 8), 'v3').type, 'call');
  assert.equal(decodeOrcFlags(0x5 | (3 << 8), 'v3').type, 'regs');
  assert.equal(decodeOrcFlags(0x5 | (4 << 8), 'v3').type, 'regs-partial');
  assert.equal(decodeOrcFlags(1 << 8, 'v3').type, 'end-of-stack');
  assert.equal(decodeOrcFlags(0, 'v3').type, 'undefined');
  assert.equal(decodeOrcFlags(0x5 | (2 << 8) | 0x800, 'v3').signal, true);
});

test('format detection: the .orc_header hash, else the kernel release', () => {
  assert.equal(orcFormatFromHeader(Buffer.from('fe5d32bf581bd63b2ca9a5c65ba5a625eab3fe24', 'hex')), 'v3');
  assert.equal(orcFormatFromHeader(Buffer.from('db84aed4103b31dd51e017f8f79783ca985c2c51', 'hex')), 'v2');
  assert.equal(orcFormatFromHeader(Buffer.alloc(20)), undefined);
  assert.equal(orcFormatForVersion('6.1.0-56-cloud-amd64'), 'v1');
  assert.equal(orcFormatForVersion('5.10.0-30-amd64'), 'v1');
  assert.equal(orcFormatForVersion('6.3.7'), 'v2');
  assert.equal(orcFormatForVersion('Linux version 6.12.1 (x@y)'), 'v3');
  assert.equal(orcFormatForVersion('7.0'), 'v3');
});

test('mismatched ip and entry tables are refused', () => {
  assert.throws(() => OrcTable.fromBuffers(0n, Buffer.alloc(8), Buffer.alloc(6)), /disagree/);
});
