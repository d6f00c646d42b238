import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ElfFile } from '../../src/symbols/elf/index.js';

/** A section to write: type defaults to PROGBITS; `link` and `entsize` as in the section header. */
export interface TinySection {
  name: string;
  data: Buffer;
  type?: number;
  addr?: bigint;
  flags?: bigint;
  link?: number;
  entsize?: bigint;
}

/**
 * Writes a minimal ELF64 little-endian relocatable file holding the given sections (no
 * program headers): enough for tests that need a real file with DWARF in it. Section i of
 * the list is section i + 1 of the file; .shstrtab comes last.
 */
export function writeTinyElf(sections: TinySection[]): Buffer {
  const all: TinySection[] = [...sections, { name: '.shstrtab', data: Buffer.alloc(0), type: 3 }];
  const names: number[] = [];
  let strtab = Buffer.from([0]);
  for (const s of all) {
    names.push(strtab.length);
    strtab = Buffer.concat([strtab, Buffer.from(`${s.name}\0`)]);
  }
  all[all.length - 1]!.data = strtab;
  const parts: Buffer[] = [];
  let offset = 64;
  const offsets: number[] = [];
  for (const s of all) {
    offsets.push(offset);
    parts.push(s.data);
    offset += s.data.length;
  }
  const shoff = (offset + 7) & ~7;
  const header = Buffer.alloc(64);
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2; // ELF64
  header[5] = 1; // little-endian
  header[6] = 1;
  header.writeUInt16LE(1, 16); // ET_REL
  header.writeUInt16LE(62, 18); // x86-64
  header.writeUInt32LE(1, 20);
  header.writeBigUInt64LE(BigInt(shoff), 40);
  header.writeUInt16LE(64, 52);
  header.writeUInt16LE(64, 58);
  header.writeUInt16LE(all.length + 1, 60);
  header.writeUInt16LE(all.length, 62);
  const sh = Buffer.alloc(64 * (all.length + 1));
  all.forEach((s, i) => {
    const o = 64 * (i + 1);
    sh.writeUInt32LE(names[i]!, o);
    sh.writeUInt32LE(s.type ?? 1, o + 4);
    sh.writeBigUInt64LE(s.flags ?? 0n, o + 8);
    sh.writeBigUInt64LE(s.addr ?? 0n, o + 16);
    sh.writeBigUInt64LE(BigInt(offsets[i]!), o + 24);
    sh.writeBigUInt64LE(BigInt(s.data.length), o + 32);
    sh.writeUInt32LE(s.link ?? 0, o + 40);
    sh.writeBigUInt64LE(1n, o + 48);
    sh.writeBigUInt64LE(s.entsize ?? 0n, o + 56);
  });
  const body = Buffer.concat([header, ...parts]);
  return Buffer.concat([body, Buffer.alloc(shoff - body.length), sh]);
}

export interface TinySymbol {
  name: string;
  address: bigint;
  size: number;
  /** STT_*: 0 notype, 1 object, 2 func. */
  type: number;
  /** STB_*: 0 local, 1 global (the default), 2 weak. */
  bind?: number;
  /** The section index the symbol is defined in (1-based, as in the file). */
  section: number;
}

/** The given sections, then .symtab and .strtab holding the symbols (.symtab's sh_link names .strtab). */
export function writeTinyElfWithSymbols(sections: TinySection[], symbols: TinySymbol[]): Buffer {
  let strtab = Buffer.from([0]);
  const symtab = Buffer.alloc(24 * (symbols.length + 1));
  symbols.forEach((s, i) => {
    const o = 24 * (i + 1);
    symtab.writeUInt32LE(strtab.length, o);
    strtab = Buffer.concat([strtab, Buffer.from(`${s.name}\0`)]);
    symtab[o + 4] = ((s.bind ?? 1) << 4) | s.type;
    symtab.writeUInt16LE(s.section, o + 6);
    symtab.writeBigUInt64LE(s.address, o + 8);
    symtab.writeBigUInt64LE(BigInt(s.size), o + 16);
  });
  const strtabIndex = sections.length + 2;
  return writeTinyElf([...sections, { name: '.symtab', data: symtab, type: 2, link: strtabIndex, entsize: 24n }, { name: '.strtab', data: strtab, type: 3 }]);
}

/**
 * Opens bytes as an ElfFile: written to a temporary file that is removed at once (the open
 * handle keeps reading it), so a test leaves nothing behind. `name` appears in error messages.
 */
export async function openTinyElf(bytes: Buffer, name = 'tiny.o'): Promise<{ elf: ElfFile; path: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kdive-elf-'));
  const file = path.join(dir, name);
  try {
    await writeFile(file, bytes);
    return { elf: await ElfFile.open(file), path: file };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
