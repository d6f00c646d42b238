import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ElfFile } from '../../src/symbols/elf/index.js';
import { FormatError } from '../../src/errors.js';
import { writeTinyElf } from '../support/tiny-elf-writer.js';
import { scratchDir } from '../support/own-resources.js';

/** A valid tiny ELF: .data (PROGBITS at 0x1000), .bss (NOBITS at 0x2000), then .shstrtab. */
function tiny(): Buffer {
  return writeTinyElf([
    { name: '.data', data: Buffer.from('hello, world\0'), addr: 0x1000n, flags: 3n },
    { name: '.bss', data: Buffer.alloc(0), type: 8, addr: 0x2000n, flags: 3n },
  ]);
}
const shoff = (b: Buffer) => Number(b.readBigUInt64LE(40));
/** Byte offset of field `at` in section header `index`. */
const shdr = (b: Buffer, index: number, at: number) => shoff(b) + 64 * index + at;

let dir: string | undefined;
async function file(name: string, bytes: Buffer | string): Promise<string> {
  dir ??= scratchDir('kdive-elf-bad-');
  const f = path.join(dir, name);
  await writeFile(f, bytes);
  return f;
}

async function rejects(name: string, bytes: Buffer | string, what: RegExp, offset?: number): Promise<void> {
  const f = await file(name, bytes);
  await assert.rejects(ElfFile.open(f), (e: Error) => {
    assert.ok(e instanceof FormatError, `${name}: ${e}`);
    assert.ok(e.message.startsWith(`${f}: at offset 0x`), e.message);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    assert.match(e.message, what);
    if (offset !== undefined) assert.equal(e.offset, offset, e.message);
    return true;
  });
}

test('a valid tiny ELF: sections, names, readVirtual from PROGBITS and zeros from NOBITS', async () => {
  const bytes = tiny();
  bytes.writeBigUInt64LE(16n, shdr(bytes, 2, 32)); // .bss: 16 bytes
  const elf = await ElfFile.open(await file('ok', bytes));
  assert.deepEqual(elf.sections.map((s) => s.name), ['', '.data', '.bss', '.shstrtab']);
  assert.equal(elf.machine, 62);
  assert.equal((await elf.readVirtual(0x1007n, 5)).toString(), 'world');
  assert.deepEqual(await elf.readVirtual(0x2004n, 4), Buffer.alloc(4));
  await assert.rejects(elf.readVirtual(0x1008n, 100), /no section holds 100 bytes at address 0x1008/);
  assert.equal(await elf.buildId(), undefined);
  await elf.close();
});

test('bad headers and section tables: one FormatError naming the file and the offset of the bad field', async () => {
  const b = tiny();
  await rejects('empty', '', /shorter than the ELF identification/);
  await rejects('text', 'just some text, long enough to look at\n', /no \\x7fELF magic/, 0);
  const elf32 = Buffer.from(b); elf32[4] = 1;
  await rejects('elf32', elf32, /not ELF64/, 4);
  const be = Buffer.from(b); be[5] = 2;
  await rejects('big-endian', be, /big-endian/, 5);
  await rejects('header-cut', b.subarray(0, 40), /ELF header \(64 bytes\) runs past the end/);
  const farShoff = Buffer.from(b); farShoff.writeBigUInt64LE(0xffffffffffff0000n, 40);
  await rejects('shoff-huge', farShoff, /section header table offset 0xffffffffffff0000 points past the end/, 40);
  await rejects('table-cut', b.subarray(0, shoff(b) + 100), /section header table \(256 bytes\) runs past the end/, shoff(b));
  const smallEnt = Buffer.from(b); smallEnt.writeUInt16LE(40, 58);
  await rejects('shentsize', smallEnt, /entry size 40 is too small/, 58);
  const pastEnd = Buffer.from(b); pastEnd.writeBigUInt64LE(0x100000n, shdr(b, 1, 24));
  await rejects('section-past-end', pastEnd, /section 1 .* runs past the end of the file/, shdr(b, 1, 0));
  const badIndex = Buffer.from(b); badIndex.writeUInt16LE(9, 62);
  await rejects('shstrndx', badIndex, /section name table index 9 is out of range/, 62);
  const notStrtab = Buffer.from(b); notStrtab.writeUInt16LE(1, 62);
  await rejects('shstrtab-type', notStrtab, /not STRTAB/, shdr(b, 1, 4));
  const badName = Buffer.from(b); badName.writeUInt32LE(0x7000, shdr(b, 2, 0));
  await rejects('name-offset', badName, /section name offset 28672 is outside the name table/, shdr(b, 2, 0));
  const hugeBss = Buffer.from(b); hugeBss.writeBigUInt64LE(1n << 40n, shdr(b, 2, 32));
  await rejects('nobits-huge', hugeBss, /NOBITS section 2 claims/, shdr(b, 2, 32));
});
