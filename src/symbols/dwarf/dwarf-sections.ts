import { FormatError } from '../../errors.js';
import type { ElfFile } from '../elf/elf-file.js';
import { parseAbbrevTable, type Abbrev } from './abbrev-table.js';

/**
 * The DWARF sections of one file, loaded on first use. `.debug_info` is never read whole:
 * units are read one at a time at their offsets (a distro vmlinux has 160 MB of it).
 */
export class DwarfSections {
  private readonly loaded = new Map<string, Promise<Buffer | undefined>>();
  private readonly abbrevTables = new Map<number, Map<number, Abbrev>>();
  /** .debug_str strings by offset: type and function names repeat across thousands of units. */
  readonly strings = new Map<number, string>();

  constructor(readonly elf: ElfFile) {}

  get file(): string {
    return this.elf.path;
  }

  has(name: string): boolean {
    return this.elf.section(name) !== undefined;
  }

  /** A whole (small or medium) section, cached. */
  section(name: string): Promise<Buffer | undefined> {
    let p = this.loaded.get(name);
    if (!p) {
      const sec = this.elf.section(name);
      p = sec ? this.elf.readSection(sec) : Promise.resolve(undefined);
      this.loaded.set(name, p);
    }
    return p;
  }

  async require(name: string): Promise<Buffer> {
    const b = await this.section(name);
    if (!b) throw new FormatError(this.file, 0, `no ${name} section: was this kernel built with debug info (CONFIG_DEBUG_INFO)?`);
    return b;
  }

  /** Bytes at an offset of a section, read from the file without loading the section. */
  async readPart(name: string, offset: number, length: number): Promise<Buffer> {
    const sec = this.elf.section(name);
    if (!sec) throw new FormatError(this.file, 0, `no ${name} section`);
    if (offset < 0 || offset + length > sec.size) {
      throw new FormatError(this.file, sec.offset + offset, `${name}: ${length} bytes at 0x${offset.toString(16)} run past the end of the section (0x${sec.size.toString(16)})`);
    }
    return this.elf.readAt(sec.offset + offset, length);
  }

  sectionSize(name: string): number {
    return this.elf.section(name)?.size ?? 0;
  }

  async abbrevs(offset: number): Promise<Map<number, Abbrev>> {
    let t = this.abbrevTables.get(offset);
    if (!t) {
      t = parseAbbrevTable(await this.require('.debug_abbrev'), offset, this.file);
      this.abbrevTables.set(offset, t);
    }
    return t;
  }
}
