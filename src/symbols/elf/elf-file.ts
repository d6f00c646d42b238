import { open, type FileHandle } from 'node:fs/promises';
import { FormatError, KdiveError } from '../../errors.js';

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
}

export interface ElfProgramHeader {
  type: number;
  flags: number;
  offset: number;
  vaddr: bigint;
  paddr: bigint;
  filesz: number;
  memsz: number;
}

export const SHT_NOBITS = 8;
export const SHT_SYMTAB = 2;
export const SHT_NOTE = 7;
export const SHT_STRTAB = 3;
/** NOBITS sections are allocated as zeros on read: refuse absurd sizes (a corrupt header). */
const MAX_NOBITS = 1n << 32n;
export const SHF_ALLOC = 2n;
export const PT_LOAD = 1;
export const PT_INTERP = 3;

/**
 * An ELF64 little-endian file read through a file handle: headers at open, section contents
 * only on demand (a distro vmlinux is ~600 MB), every offset checked against the file size.
 */
export class ElfFile {
  private readonly cache = new Map<number, Buffer>();

  private constructor(
    readonly path: string,
    private readonly fh: ElfBytes,
    readonly fileSize: number,
    readonly type: number,
    readonly machine: number,
    readonly entry: bigint,
    readonly sections: readonly ElfSection[],
    readonly programHeaders: readonly ElfProgramHeader[],
  ) {}

  static async open(path: string): Promise<ElfFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      throw new FormatError(path, 0, `cannot open: ${(err as Error).message}`);
    }
    try {
      // open() takes a folder; its first read would fail with a bare EISDIR.
      if ((await fh.stat()).isDirectory()) throw new KdiveError(`${path}: a directory, not an ELF file (give the vmlinux in it)`, 2);
      return await ElfFile.parse(path, fh);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /**
   * An ELF image already in memory (a vmlinux unpacked from a bzImage, or bytes a test or the fuzzer
   * made); `name` stands for the path in error messages.
   */
  static async fromBuffer(name: string, bytes: Buffer): Promise<ElfFile> {
    return ElfFile.parse(name, new BufferBytes(bytes));
  }

  private static async parse(path: string, fh: ElfBytes): Promise<ElfFile> {
    const fileSize = (await fh.stat()).size;
    const read = async (offset: number, length: number, what: string): Promise<Buffer> => {
      if (offset < 0 || length < 0 || offset + length > fileSize) {
        throw new FormatError(path, offset, `${what} (${length} bytes) runs past the end of the file (${fileSize} bytes): truncated?`);
      }
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, offset);
      return buf;
    };
    if (fileSize < 16) throw new FormatError(path, fileSize, 'not an ELF file: shorter than the ELF identification');
    const ident = await read(0, 16, 'ELF identification');
    if (ident.readUInt32BE(0) !== 0x7f454c46) throw new FormatError(path, 0, 'not an ELF file (no \\x7fELF magic)');
    if (ident[4] !== 2) throw new FormatError(path, 4, `ELF class ${ident[4]} is not ELF64`);
    if (ident[5] !== 1) throw new FormatError(path, 5, 'big-endian ELF is not supported');
    const h = await read(0, 64, 'ELF header');
    const type = h.readUInt16LE(16);
    const machine = h.readUInt16LE(18);
    const entry = h.readBigUInt64LE(24);
    const fileOffset = (at: number, what: string): number => {
      const v = h.readBigUInt64LE(at);
      if (v > BigInt(fileSize)) throw new FormatError(path, at, `${what} 0x${v.toString(16)} points past the end of the file (${fileSize} bytes): truncated?`);
      return Number(v);
    };
    const phoff = fileOffset(32, 'program header table offset');
    const shoff = fileOffset(40, 'section header table offset');
    const ehsize = h.readUInt16LE(52);
    if (ehsize < 64) throw new FormatError(path, 52, `ELF header size ${ehsize} is smaller than 64`);
    const phentsize = h.readUInt16LE(54);
    const phnum = h.readUInt16LE(56);
    const shentsize = h.readUInt16LE(58);
    let shnum = h.readUInt16LE(60);
    let shstrndx = h.readUInt16LE(62);

    const programHeaders: ElfProgramHeader[] = [];
    if (phnum > 0) {
      if (phentsize < 56) throw new FormatError(path, 54, `program header entry size ${phentsize} is too small`);
      const ph = await read(phoff, phnum * phentsize, 'program header table');
      for (let i = 0; i < phnum; i++) {
        const o = i * phentsize;
        programHeaders.push({
          type: ph.readUInt32LE(o),
          flags: ph.readUInt32LE(o + 4),
          offset: Number(ph.readBigUInt64LE(o + 8)),
          vaddr: ph.readBigUInt64LE(o + 16),
          paddr: ph.readBigUInt64LE(o + 24),
          filesz: Number(ph.readBigUInt64LE(o + 32)),
          memsz: Number(ph.readBigUInt64LE(o + 40)),
        });
      }
    }

    const sections: ElfSection[] = [];
    if (shoff !== 0) {
      if (shentsize < 64) throw new FormatError(path, 58, `section header entry size ${shentsize} is too small`);
      // Extended numbering: counts too large for the header live in section 0.
      if (shnum === 0 || shstrndx === 0xffff) {
        const s0 = await read(shoff, 64, 'section header 0');
        if (shnum === 0) shnum = Number(s0.readBigUInt64LE(32));
        if (shstrndx === 0xffff) shstrndx = s0.readUInt32LE(40);
      }
      const sh = await read(shoff, shnum * shentsize, 'section header table');
      for (let i = 0; i < shnum; i++) {
        const o = i * shentsize;
        const rawOffset = sh.readBigUInt64LE(o + 24);
        const rawSize = sh.readBigUInt64LE(o + 32);
        const sec: ElfSection = {
          index: i,
          name: '',
          type: sh.readUInt32LE(o + 4),
          flags: sh.readBigUInt64LE(o + 8),
          addr: sh.readBigUInt64LE(o + 16),
          offset: Number(rawOffset),
          size: Number(rawSize),
          link: sh.readUInt32LE(o + 40),
          info: sh.readUInt32LE(o + 44),
          entsize: Number(sh.readBigUInt64LE(o + 56)),
        };
        if (sec.type === SHT_NOBITS && rawSize > MAX_NOBITS) {
          throw new FormatError(path, shoff + o + 32, `NOBITS section ${i} claims 0x${rawSize.toString(16)} bytes`);
        }
        if (sec.type !== SHT_NOBITS && sec.type !== 0 && rawOffset + rawSize > BigInt(fileSize)) {
          throw new FormatError(path, shoff + o, `section ${i} (offset 0x${sec.offset.toString(16)}, size 0x${sec.size.toString(16)}) runs past the end of the file (${fileSize} bytes): truncated?`);
        }
        sections.push(sec);
      }
      const names = sections[shstrndx];
      if (!names || shstrndx === 0) throw new FormatError(path, 62, `section name table index ${shstrndx} is out of range (${sections.length} sections)`);
      if (names.type !== SHT_STRTAB) throw new FormatError(path, shoff + shstrndx * shentsize + 4, `section name table (section ${shstrndx}) has type ${names.type}, not STRTAB`);
      const strtab = await read(names.offset, names.size, 'section name table');
      for (const sec of sections) {
        const nameOff = sh.readUInt32LE(sec.index * shentsize);
        if (nameOff >= strtab.length && nameOff !== 0) {
          throw new FormatError(path, shoff + sec.index * shentsize, `section name offset ${nameOff} is outside the name table`);
        }
        const end = strtab.indexOf(0, nameOff);
        sec.name = strtab.toString('latin1', nameOff, end < 0 ? strtab.length : end);
      }
    }
    return new ElfFile(path, fh, fileSize, type, machine, entry, sections, programHeaders);
  }

  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** A section's bytes, read once and kept (callers read the big DWARF sections piecewise via readAt). */
  async readSection(which: string | ElfSection): Promise<Buffer> {
    const sec = typeof which === 'string' ? this.section(which) : which;
    if (!sec) throw new FormatError(this.path, 0, `no section named ${String(which)}`);
    const cached = this.cache.get(sec.index);
    if (cached) return cached;
    const buf = sec.type === SHT_NOBITS ? Buffer.alloc(sec.size) : await this.readAt(sec.offset, sec.size);
    this.cache.set(sec.index, buf);
    return buf;
  }

  /** Drops a cached section (large ones the caller has indexed already). */
  forgetSection(sec: ElfSection): void {
    this.cache.delete(sec.index);
  }

  async readAt(offset: number, length: number): Promise<Buffer> {
    if (offset < 0 || length < 0 || offset + length > this.fileSize) {
      throw new FormatError(this.path, offset, `read of ${length} bytes runs past the end of the file (${this.fileSize} bytes)`);
    }
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) throw new FormatError(this.path, offset + done, 'unexpected end of file');
      done += bytesRead;
    }
    return buf;
  }

  /** Bytes at a link-time virtual address, from the allocated section holding them (zeros for NOBITS). */
  async readVirtual(address: bigint, length: number): Promise<Buffer> {
    const sec = this.sections.find(
      (s) => (s.flags & SHF_ALLOC) !== 0n && s.size > 0 && address >= s.addr && address + BigInt(length) <= s.addr + BigInt(s.size),
    );
    if (!sec) throw new FormatError(this.path, 0, `no section holds ${length} bytes at address 0x${address.toString(16)}`);
    if (sec.type === SHT_NOBITS) return Buffer.alloc(length);
    return this.readAt(sec.offset + Number(address - sec.addr), length);
  }

  /** The GNU build-id note, as lowercase hex. */
  async buildId(): Promise<string | undefined> {
    for (const sec of this.sections) {
      if (sec.type !== SHT_NOTE) continue;
      const notes = await this.readSection(sec);
      let o = 0;
      while (o + 12 <= notes.length) {
        const namesz = notes.readUInt32LE(o);
        const descsz = notes.readUInt32LE(o + 4);
        const type = notes.readUInt32LE(o + 8);
        const nameStart = o + 12;
        const descStart = nameStart + align4(namesz);
        if (descStart + descsz > notes.length) break;
        const name = notes.toString('latin1', nameStart, nameStart + Math.max(0, namesz - 1));
        if (name === 'GNU' && type === 3) return notes.toString('hex', descStart, descStart + descsz);
        o = descStart + align4(descsz);
      }
    }
    return undefined;
  }

  async close(): Promise<void> {
    this.cache.clear();
    await this.fh.close().catch(() => {}); // closed already (close() twice): nothing left to release
  }
}

/** What ElfFile reads through: an open file, or a buffer. */
interface ElfBytes {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  stat(): Promise<{ size: number; isDirectory(): boolean }>;
  close(): Promise<void>;
}

/** The part of FileHandle ElfFile uses, over a Buffer. */
class BufferBytes implements ElfBytes {
  constructor(private readonly bytes: Buffer) {}

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    if (position >= this.bytes.length) return { bytesRead: 0 };
    return { bytesRead: this.bytes.copy(buffer, offset, position, Math.min(this.bytes.length, position + length)) };
  }

  async stat(): Promise<{ size: number; isDirectory(): boolean }> {
    return { size: this.bytes.length, isDirectory: () => false };
  }

  async close(): Promise<void> {}
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
