import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ElfFile } from '../elf/index.js';
import { KdiveError, NotFoundError } from '../../errors.js';
import { locateKallsyms } from './kallsyms-locator.js';
import { writeKallsyms, writeKallsymsElf, type KallsymsEntry, type KallsymsLayout } from '../../../test/support/kallsyms-writer.js';
import { writeTinyElf } from '../../../test/support/tiny-elf-writer.js';
import { sampleKallsyms } from '../../../test/support/kallsyms-sample.js';

const decoy = Buffer.concat([Buffer.from('version\0'), Buffer.from('0\x001\x002\x003\x004\x005\x006\x007\x008\x009\x00'), Buffer.alloc(300, 0x41), Buffer.alloc(64)]);

const layouts: [string, KallsymsLayout][] = [
  ['6.1.192 (offsets first, seqs_of_names before the token table)', { order: 'offsets-first', seqs: true }],
  ['6.1 (offsets first, no seqs_of_names)', { order: 'offsets-first', seqs: false }],
  ['6.4+ (num_syms first, seqs_of_names last)', { order: 'num-syms-first' }],
  ['6.4+ without seqs_of_names after relative_base', { order: 'num-syms-first', seqs: false }],
  ['no ABSOLUTE_PERCPU (offsets above relative_base)', { absolutePercpu: false }],
  ['other data before, with a decoy run of digits', { seqs: true, before: decoy }],
];

for (const [what, layout] of layouts) {
  test(`locates and decodes kallsyms: ${what}`, async () => {
    let entries = sampleKallsyms();
    // Without ABSOLUTE_PERCPU the per-CPU symbols are not absolute; leave them out.
    if (layout.absolutePercpu === false) entries = entries.filter((e) => !e.perCpu);
    const { rodata, tables } = writeKallsyms(entries, layout);
    const elf = await ElfFile.fromBuffer('tiny-vmlinux', writeKallsymsElf(rodata, layout));
    const located = await locateKallsyms(elf);
    assert.deepEqual(located.tables, tables);
    assert.deepEqual(located.symbols, entries.map((e: KallsymsEntry) => ({ name: e.name, type: e.type, address: e.address, perCpu: e.perCpu ?? false })));
  });
}

/** The tables in an ELF after `spoil` changed them, for the cases the locator must refuse. */
async function spoiled(spoil: (rodata: Buffer, at: (address: bigint) => number) => void): Promise<ElfFile> {
  const layout: KallsymsLayout = { seqs: true };
  const { rodata } = writeKallsyms(sampleKallsyms(), layout);
  spoil(rodata, (address) => Number(address - 0xffffffff82000000n));
  return ElfFile.fromBuffer('tiny-vmlinux', writeKallsymsElf(rodata, layout));
}

async function assertNotFound(elf: ElfFile, pattern: RegExp): Promise<void> {
  await assert.rejects(locateKallsyms(elf), (e: Error) => {
    assert.ok(e instanceof NotFoundError, String(e));
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

test('refuses tables that do not check out, with one line saying what was not found where', async () => {
  const { tables } = writeKallsyms(sampleKallsyms(), { seqs: true });
  // No token table: the digit tokens are gone.
  await assertNotFound(await spoiled((ro) => { for (let o = ro.indexOf('0\x001\x002'); o >= 0; o = ro.indexOf('0\x001\x002', o + 1)) ro[o] = 0x5a; }),
    /^tiny-vmlinux: no kallsyms token table \(the tokens "0".."9" in a row\) in \.rodata \(0xffffffff82000000, \d+ bytes\)$/);
  // The token index is not monotonic.
  await assertNotFound(await spoiled((ro, at) => ro.writeUInt16LE(ro.readUInt16LE(at(tables.tokenIndex) + 20) + 1, at(tables.tokenIndex) + 10)), /no kallsyms token table/);
  // markers[0] is not 0.
  await assertNotFound(await spoiled((ro, at) => ro.writeUInt32LE(1, at(tables.markers))), /token table\(s\) in \.rodata .* but no markers, names, num_syms and offsets around them decode consistently$/);
  // A name cut short: its length byte says more than there is before the next symbol's.
  await assertNotFound(await spoiled((ro, at) => { ro[at(tables.names)] = ro[at(tables.names)]! + 3; }), /decode consistently$/);
  // relative_base outside the code.
  await assertNotFound(await spoiled((ro, at) => ro.writeBigUInt64LE(0xffffffff90000000n, at(tables.relativeBase))), /decode consistently$/);
  // No .rodata at all.
  await assertNotFound(await ElfFile.fromBuffer('tiny-vmlinux', writeTinyElf([{ name: '.text', data: Buffer.alloc(16), flags: 6n }])), /^tiny-vmlinux: no \.rodata section to look for kallsyms in$/);
});

test('corrupt tables give a KdiveError or a consistent decode, never a RangeError', async () => {
  const { rodata, tables } = writeKallsyms(sampleKallsyms(), { seqs: true });
  const start = Number(tables.offsets - 0xffffffff82000000n);
  let seed = 12345;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 150; round++) {
    const copy = Buffer.from(rodata);
    for (let k = 0; k < 1 + random(4); k++) copy[start + random(copy.length - start)] = random(256);
    const elf = await ElfFile.fromBuffer('tiny-vmlinux', writeKallsymsElf(copy));
    try {
      await locateKallsyms(elf);
    } catch (e) {
      assert.ok(e instanceof KdiveError, `round ${round}: ${String(e)}`);
      assert.ok(!(e as Error).message.includes('\n'));
    }
  }
});
