import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FormatError } from '../../src/errors.js';
import { ElfFile } from '../../src/symbols/elf/index.js';
import { DwarfInfo, DwarfSections, DwarfUnit, DW_AT, readLineTable } from '../../src/symbols/dwarf/index.js';
import { writeTinyElf } from '../support/tiny-elf-writer.js';
import { scratchDir } from '../support/own-resources.js';

/** Abbrev 1: compile_unit, children, name (strp). Abbrev 2: variable, no children, name (string). */
const ABBREV = Buffer.from([1, 0x11, 1, 0x03, 0x0e, 0, 0, 2, 0x34, 0, 0x03, 0x08, 0, 0, 0]);
const STR = Buffer.from('unit.c\0');

/** A DWARF 5 compile unit: root (name = strp `off`) with one variable child named `v`. */
function unit(opts: { version?: number; strOffset?: number; abbrevCode?: number; truncate?: number } = {}): Buffer {
  const body = Buffer.from([
    ...u16(opts.version ?? 5), 1 /* DW_UT_compile */, 8, ...u32(0),
    1, ...u32(opts.strOffset ?? 0),
    opts.abbrevCode ?? 2, ...Buffer.from('v\0'),
    0,
  ]);
  const whole = Buffer.concat([Buffer.from(u32(body.length)), body]);
  return opts.truncate ? whole.subarray(0, opts.truncate) : whole;
}
const u16 = (v: number) => [v & 0xff, v >> 8];
const u32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];

async function fileWith(info: Buffer): Promise<string> {
  const dir = scratchDir('kdive-dwarf-');
  const f = path.join(dir, 'tiny.o');
  await writeFile(f, writeTinyElf([
    { name: '.debug_info', data: info },
    { name: '.debug_abbrev', data: ABBREV },
    { name: '.debug_str', data: STR, type: 1 },
  ]));
  return f;
}

async function openUnit(file: string, offset: number): Promise<DwarfUnit> {
  const elf = await ElfFile.open(file);
  return DwarfUnit.read(new DwarfSections(elf), offset);
}

function expectFormatError(section: string) {
  return (e: Error) => {
    assert.ok(e instanceof FormatError, String(e));
    assert.match(e.message, new RegExp(`: at offset 0x[0-9a-f]+: ${section.replace('.', '\\.')}`));
    assert.ok(!e.message.includes('\n'));
    return true;
  };
}

test('a good synthetic unit reads back', async () => {
  const u = await openUnit(await fileWith(unit()), 0);
  const root = await u.root();
  assert.equal(root.attrs.get(DW_AT.name), 'unit.c');
  assert.equal(root.children[0]!.attrs.get(DW_AT.name), 'v');
});

test('a wrong DWARF version is an error naming .debug_info and the offset, and the next unit still reads', async () => {
  const bad = unit({ version: 7 });
  const file = await fileWith(Buffer.concat([bad, unit()]));
  await assert.rejects(openUnit(file, 0), (e: Error) => expectFormatError('.debug_info')(e) && /DWARF version 7/.test(e.message));
  const second = await openUnit(file, bad.length);
  assert.equal((await second.root()).attrs.get(DW_AT.name), 'unit.c');
});

test('a string offset past the end of .debug_str names that section and offset', async () => {
  const file = await fileWith(unit({ strOffset: 0x1000 }));
  await assert.rejects((await openUnit(file, 0)).root(), (e: Error) => /\.debug_str: string offset 0x1000 is past the end/.test(e.message) && e instanceof FormatError);
});

test('a DIE whose abbreviation code is not in the table is an error, not a crash', async () => {
  const file = await fileWith(unit({ abbrevCode: 9 }));
  await assert.rejects((await openUnit(file, 0)).root(), (e: Error) => expectFormatError('.debug_info')(e) && /abbreviation 9/.test(e.message));
});

test('a truncated .debug_info unit is an error naming the section', async () => {
  const file = await fileWith(unit({ truncate: 14 }));
  await assert.rejects(openUnit(file, 0), (e: Error) => expectFormatError('.debug_info')(e));
});

test('a file without DWARF says so in one line', async () => {
  const dir = scratchDir('kdive-dwarf-');
  const file = path.join(dir, 'nodwarf.o');
  await writeFile(file, writeTinyElf([{ name: '.text', data: Buffer.alloc(16), addr: 0x1000n, flags: 6n }]));
  const elf = await ElfFile.open(file);
  await assert.rejects(DwarfInfo.open(elf), (e: Error) => e instanceof FormatError && e.message === `${file}: at offset 0x0: no .debug_info section: this file has no DWARF debug info`);
  await elf.close();
});

test('a line program header announcing 4 billion entries of no field is a FormatError, not a loop that fills memory (found by npm run fuzz)', async () => {
  const afterLength = Buffer.from([
    5, 0, 8, 0, // version 5, address size 8, segment selector size 0
    ...u32(21), // header_length: the rest of the header below
    1, 1, 1, 0xfb, 14, 13, // min_inst, max_ops, default_is_stmt, line_base -5, line_range 14, opcode_base 13
    0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, // standard_opcode_lengths
    0, 0xff, 0xff, 0xff, 0xff, 0x0f, // directory_entry_format_count 0, directories_count 0xffffffff
  ]);
  const program = Buffer.concat([Buffer.from(u32(afterLength.length)), afterLength]);
  const dir = scratchDir('kdive-dwarf-line-');
  const f = path.join(dir, 'line.o');
  await writeFile(f, writeTinyElf([{ name: '.debug_line', data: program }, { name: '.debug_info', data: unit() }, { name: '.debug_abbrev', data: ABBREV }]));
  const elf = await ElfFile.open(f);
  await assert.rejects(readLineTable(new DwarfSections(elf), 0), expectFormatError('.debug_line'));
  await elf.close();
});

test('a line program that moves the line number below 0 is a FormatError, not a row at a line that does not exist (found by npm run fuzz)', async () => {
  const afterLength = Buffer.from([
    5, 0, 8, 0, // version 5, address size 8, segment selector size 0
    ...u32(22), // header_length
    1, 1, 1, 0xfb, 14, 13, // min_inst, max_ops, default_is_stmt, line_base -5, line_range 14, opcode_base 13
    0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, // standard_opcode_lengths
    0, 0, 0, 0, // no directory or file entry formats, no entries
    3, 0x7b, 1, // DW_LNS_advance_line -5 (line 1 - 5 = -4), DW_LNS_copy
  ]);
  const dir = scratchDir('kdive-dwarf-line-');
  const f = path.join(dir, 'line.o');
  await writeFile(f, writeTinyElf([{ name: '.debug_line', data: Buffer.concat([Buffer.from(u32(afterLength.length)), afterLength]) }, { name: '.debug_info', data: unit() }, { name: '.debug_abbrev', data: ABBREV }]));
  const elf = await ElfFile.open(f);
  await assert.rejects(readLineTable(new DwarfSections(elf), 0), (e: Error) => {
    assert.ok(e instanceof FormatError && /the line program advances the line number to -4/.test(e.message), e.message);
    return true;
  });
  await elf.close();
});
