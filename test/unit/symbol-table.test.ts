import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormatError } from '../../src/errors.js';
import { SymbolTable, type ElfFile } from '../../src/symbols/elf/index.js';
import { openTinyElf, writeTinyElf, writeTinyElfWithSymbols } from '../support/tiny-elf-writer.js';

const FUNC = 2, OBJECT = 1, NOTYPE = 0, LOCAL = 0, GLOBAL = 1, WEAK = 2;

/** A symbol table over a .text at 0x1000 (section 1). */
async function tableOf(syms: { name: string; addr: bigint; size: number; type: number; bind?: number }[]): Promise<SymbolTable> {
  const bytes = writeTinyElfWithSymbols(
    [{ name: '.text', data: Buffer.alloc(0x100), addr: 0x1000n, flags: 6n }],
    syms.map((s) => ({ name: s.name, address: s.addr, size: s.size, type: s.type, bind: s.bind, section: 1 })),
  );
  const { elf } = await openTinyElf(bytes, 'syms.o');
  try {
    return await SymbolTable.fromElf(elf);
  } finally {
    await elf.close();
  }
}

test('symbolize: func over label, innermost of nested sized symbols, labels inside, padding, aliases', async () => {
  const t = await tableOf([
    { name: 'outer', addr: 0x1000n, size: 0x100, type: FUNC },
    { name: 'outer_label', addr: 0x1010n, size: 0, type: NOTYPE }, // unsized label inside outer
    { name: 'middle', addr: 0x1020n, size: 0x40, type: NOTYPE }, // sized code label (asm SYM_CODE)
    { name: 'inner', addr: 0x1030n, size: 0x8, type: FUNC },
    ...Array.from({ length: 300 }, (_, i) => ({ name: `l${i}`, addr: 0x1040n + BigInt(i % 16), size: 0, type: NOTYPE, bind: LOCAL })),
    { name: 'after', addr: 0x1200n, size: 0x10, type: FUNC },
    { name: 'after_alias', addr: 0x1200n, size: 0x10, type: FUNC, bind: WEAK },
    { name: 'after_local', addr: 0x1200n, size: 0, type: NOTYPE, bind: LOCAL },
    { name: 'data', addr: 0x2000n, size: 8, type: OBJECT },
  ]);
  const at = (a: bigint) => { const s = t.symbolize(a)!; return `${s.name}+0x${s.offset.toString(16)}`; };
  assert.equal(at(0x1000n), 'outer+0x0');
  assert.equal(at(0x1014n), 'outer+0x14'); // not outer_label: a sized symbol contains it
  assert.equal(at(0x1024n), 'outer+0x24'); // middle (NOTYPE) is inside outer (FUNC): FUNC first
  assert.equal(at(0x1034n), 'inner+0x4'); // the innermost FUNC
  assert.equal(at(0x1038n), 'outer+0x38'); // past inner's end, still inside outer and middle
  assert.equal(at(0x1050n), 'outer+0x50'); // 300 labels later, still outer (no scan window)
  assert.equal(at(0x1150n), 'l15+0x101'); // padding after outer: the closest symbol before it
  assert.equal(at(0x1204n), 'after+0x4'); // aliases: the global FUNC
  assert.equal(at(0x2004n), 'data+0x4');
  assert.equal(at(0x2010n), 'data+0x10'); // past every symbol: closest before, like nm
  assert.equal(t.symbolize(0xfffn), undefined);
  assert.deepEqual(t.lookup('after').map((s) => s.type), ['func']);
  assert.equal(t.functionAddress('middle'), 0x1020n);
  assert.equal(t.functionAddress('data'), undefined);
  assert.deepEqual(t.closeMatches('innr'), ['inner']);
  assert.deepEqual([...t.functions()].map((s) => s.name), ['outer', 'inner', 'after', 'after_alias']);
});

test('namesWithPrefix: sorted, distinct, bounded, nothing for an unknown prefix', async () => {
  const t = await tableOf([
    { name: 'do_mkdirat', addr: 0x1000n, size: 16, type: FUNC },
    { name: 'do_mknodat', addr: 0x1010n, size: 16, type: FUNC },
    { name: 'do_mkdirat', addr: 0x1020n, size: 16, type: FUNC, bind: LOCAL },
    { name: 'do_rmdir', addr: 0x1030n, size: 16, type: FUNC },
    { name: 'vfs_mkdir', addr: 0x1040n, size: 16, type: FUNC },
  ]);
  assert.deepEqual(t.namesWithPrefix('do_mk'), ['do_mkdirat', 'do_mknodat']);
  assert.deepEqual(t.namesWithPrefix('do_', 2), ['do_mkdirat', 'do_mknodat']);
  assert.deepEqual(t.namesWithPrefix('zz'), []);
  assert.deepEqual(t.namesWithPrefix('vfs_mkdir'), ['vfs_mkdir']);
});

test('a bad symbol table is one FormatError naming the file and the offset: no .symtab, a name outside .strtab, a short entry size', async () => {
  const rejects = async (bytes: Buffer, what: RegExp, offsetOf?: (elf: ElfFile) => number) => {
    const { elf, path } = await openTinyElf(bytes, 'bad-syms.o');
    try {
      await assert.rejects(SymbolTable.fromElf(elf), (e: Error) => {
        assert.ok(e instanceof FormatError, String(e));
        assert.match(e.message, what);
        assert.ok(e.message.startsWith(`${path}: at offset 0x`) && !e.message.includes('\n'), e.message);
        if (offsetOf) assert.equal(e.offset, offsetOf(elf));
        return true;
      });
    } finally {
      await elf.close();
    }
  };
  const text = { name: '.text', data: Buffer.alloc(0x10), addr: 0x1000n, flags: 6n };
  await rejects(writeTinyElf([text]), /no \.symtab section/);
  const good = writeTinyElfWithSymbols([text], [{ name: 'f', address: 0x1000n, size: 4, type: FUNC, section: 1 }, { name: 'g', address: 0x1004n, size: 4, type: FUNC, section: 1 }]);
  const symtabOffset = (elf: ElfFile) => elf.sections.find((s) => s.name === '.symtab')!.offset;
  // The second symbol's st_name (at 24 * 2 into .symtab) points far past .strtab.
  const badName = Buffer.from(good);
  const shoff = Number(good.readBigUInt64LE(40));
  const symtabAt = Number(good.readBigUInt64LE(shoff + 64 * 2 + 24));
  badName.writeUInt32LE(0x9999, symtabAt + 48);
  await rejects(badName, /symbol name offset 39321 is outside the string table/, (elf) => symtabOffset(elf) + 48);
  const badEntsize = Buffer.from(good);
  badEntsize.writeBigUInt64LE(16n, shoff + 64 * 2 + 56);
  await rejects(badEntsize, /symbol entry size 16 is too small/, symtabOffset);
});
