import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormatError } from '../../src/errors.js';
import { decodeOrcFlags, OrcReg, OrcTable, orcFormatForVersion, orcFormatFromHeader } from '../../src/symbols/orc/index.js';
import { ORC_HEADER, orcSections, writeOrcTables, type OrcFormat, type OrcRow } from '../support/orc-writer.js';
import { openTinyElf, writeTinyElf } from '../support/tiny-elf-writer.js';

/** Raw tables: [ip, sp_offset, flags word] rows, ip relative to `tableAt`, in the given (possibly unsorted) order. */
function raw(rows: [number, number, number][], format: 'v1' | 'v2' | 'v3' = 'v1', tableAt = 0xffffffff82000000n): OrcTable {
  const { ips, entries } = writeOrcTables(rows.map(([ip, spOffset, flags]) => ({ ip: tableAt + BigInt(ip), spOffset, flags })), tableAt, format);
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
  assert.equal(orcFormatFromHeader(ORC_HEADER.v3), 'v3');
  assert.equal(orcFormatFromHeader(ORC_HEADER.v2), 'v2');
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

const TEXT = 0xffffffff81000000n;
const ORC_AT = 0xffffffff82800000n;
/** One row of each kind, unsorted, as a kernel's tables hold them. */
const ROWS: OrcRow[] = [
  { ip: TEXT + 0x100n, spReg: OrcReg.SP, spOffset: 16, bpReg: OrcReg.PREV_SP, bpOffset: -16 },
  { ip: TEXT, spReg: OrcReg.SP, spOffset: 8 },
  { ip: TEXT + 0x200n, spReg: OrcReg.SP, spOffset: 0, type: 'regs', signal: true },
  { ip: TEXT + 0x300n, spReg: OrcReg.DX, spOffset: 8, type: 'regs-partial', signal: true },
  { ip: TEXT + 0x400n, type: 'end-of-stack' },
];

async function vmlinuxWithOrc(format: OrcFormat, sections = orcSections(ROWS, ORC_AT, format)) {
  return openTinyElf(writeTinyElf([{ name: '.text', data: Buffer.alloc(0x10), addr: TEXT, flags: 6n }, ...sections]), `vmlinux-${format}`);
}

for (const format of ['v1', 'v2', 'v3'] as const) {
  test(`fromElf (${format}): the layout from .orc_header (or v1 without one), every entry read back in ip order`, async () => {
    const { elf } = await vmlinuxWithOrc(format);
    try {
      const t = await OrcTable.fromElf(elf);
      assert.equal(t.format, format);
      assert.equal(t.length, 5);
      assert.deepEqual([0, 1, 2, 3, 4].map((i) => t.entryAt(i)).map((e) => [e.ip - TEXT, e.spReg, e.spOffset, e.bpReg, e.bpOffset, e.type, e.signal]), [
        [0x000n, OrcReg.SP, 8, 0, 0, 'call', false],
        [0x100n, OrcReg.SP, 16, OrcReg.PREV_SP, -16, 'call', false],
        [0x200n, OrcReg.SP, 0, 0, 0, 'regs', true],
        [0x300n, OrcReg.DX, 8, 0, 0, 'regs-partial', true],
        [0x400n, OrcReg.UNDEFINED, 0, 0, 0, 'end-of-stack', false],
      ]);
      assert.equal(t.find(TEXT + 0x1ffn)!.spOffset, 16);
    } finally {
      await elf.close();
    }
  });
}

test('fromElf without .orc_header: the kernel release picks the layout (6.3 is v2)', async () => {
  const { elf } = await vmlinuxWithOrc('v2', orcSections(ROWS, ORC_AT, 'v2', false));
  try {
    assert.equal((await OrcTable.fromElf(elf, { kernelRelease: '6.3.5' })).entryAt(4).type, 'end-of-stack');
    // Read as v1 (no release known), the v2 end bit (11) is not v1's (10): the end reads as a gap.
    assert.equal((await OrcTable.fromElf(elf)).entryAt(4).type, 'undefined');
  } finally {
    await elf.close();
  }
});

test('fromElf refuses, in one line naming the file and offset: no tables, sizes that disagree, an unknown header', async () => {
  const expectError = async (sections: ReturnType<typeof orcSections>, what: RegExp) => {
    const { elf, path } = await vmlinuxWithOrc('v3', sections);
    try {
      await assert.rejects(OrcTable.fromElf(elf), (e: Error) => e instanceof FormatError && e.message.startsWith(`${path}: at offset 0x`) && what.test(e.message) && !e.message.includes('\n'));
    } finally {
      await elf.close();
    }
  };
  const good = orcSections(ROWS, ORC_AT, 'v3');
  await expectError([], /no ORC tables/);
  await expectError([good[0]!, { ...good[1]!, data: good[1]!.data.subarray(0, 24) }], /\.orc_unwind is 24 bytes, expected 6 per \.orc_unwind_ip entry \(5 entries: 30 bytes\)/);
  await expectError([{ ...good[0]!, data: good[0]!.data.subarray(0, 18) }, good[1]!], /\.orc_unwind_ip is 18 bytes, not a multiple of 4/);
  await expectError([good[0]!, good[1]!, { ...good[2]!, data: Buffer.alloc(20, 0xab) }], /unrecognized \.orc_header \(abab/);
});
