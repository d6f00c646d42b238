import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ElfFile, SymbolTable } from '../../src/symbols/elf/index.js';
import { writeTinyElf } from '../support/tiny-elf-writer.js';
import { scratchDir } from '../support/own-resources.js';

const FUNC = 2, OBJECT = 1, NOTYPE = 0, LOCAL = 0, GLOBAL = 1, WEAK = 2;

/** A .symtab + .strtab pair (the writer puts .symtab at section 1, .strtab at 2, .text at 3). */
async function tableOf(syms: { name: string; addr: bigint; size: number; type: number; bind?: number }[]): Promise<SymbolTable> {
  let strtab = Buffer.from([0]);
  const symtab = Buffer.alloc(24 * (syms.length + 1));
  syms.forEach((s, i) => {
    const o = 24 * (i + 1);
    symtab.writeUInt32LE(strtab.length, o);
    strtab = Buffer.concat([strtab, Buffer.from(`${s.name}\0`)]);
    symtab[o + 4] = ((s.bind ?? GLOBAL) << 4) | s.type;
    symtab.writeUInt16LE(3, o + 6);
    symtab.writeBigUInt64LE(s.addr, o + 8);
    symtab.writeBigUInt64LE(BigInt(s.size), o + 16);
  });
  const bytes = writeTinyElf([
    { name: '.symtab', data: symtab, type: 2 },
    { name: '.strtab', data: strtab, type: 3 },
    { name: '.text', data: Buffer.alloc(0x100), addr: 0x1000n, flags: 6n },
  ]);
  // .symtab's sh_link (offset 40) -> section 2 (.strtab); sh_entsize (56) = 24.
  const shoff = Number(bytes.readBigUInt64LE(40));
  bytes.writeUInt32LE(2, shoff + 64 + 40);
  bytes.writeBigUInt64LE(24n, shoff + 64 + 56);
  const dir = scratchDir('kdive-sym-');
  const file = path.join(dir, 'syms.o');
  await writeFile(file, bytes);
  const elf = await ElfFile.open(file);
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
