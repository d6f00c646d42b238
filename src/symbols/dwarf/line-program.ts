import { ByteCursor, stringAt } from './byte-cursor.js';
import { DW_FORM } from './constants.js';
import type { DwarfSections } from './dwarf-sections.js';

export interface LineRow {
  address: bigint;
  /** Index into `files`. */
  file: number;
  line: number;
  column: number;
  isStmt: boolean;
  endSequence: boolean;
}

export interface LineTable {
  version: number;
  /** File paths as addr2line prints them: directory joined with the name, unless the name is absolute. */
  files: string[];
  /** Rows in program order; each sequence ends with an endSequence row. */
  rows: LineRow[];
  /** Sequences sorted by start address, for lookups: [first row index, end row index]. */
  sequences: { start: bigint; end: bigint; first: number; last: number }[];
}

/** The row covering an address: the last row of its sequence whose address is <= it. */
export function findRow(table: LineTable, address: bigint): number | undefined {
  const seqs = table.sequences;
  let lo = 0;
  let hi = seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seqs[mid]!.start <= address) lo = mid + 1;
    else hi = mid;
  }
  // Sequences may nest (a zero-length one inside another): look back a few.
  for (let s = lo - 1; s >= 0 && s >= lo - 4; s--) {
    const seq = seqs[s]!;
    if (address >= seq.end) continue;
    let a = seq.first;
    let b = seq.last; // the end_sequence row
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (table.rows[mid]!.address <= address) a = mid + 1;
      else b = mid;
    }
    return a - 1 >= seq.first ? a - 1 : undefined;
  }
  return undefined;
}

const DW_LNCT_path = 1;
const DW_LNCT_directory_index = 2;

/** A line program's header: what its rows mean, and where its opcodes are. */
export interface LineProgramHeader {
  version: number;
  files: string[];
  /** The unit's bytes (header and program) and where the opcodes start and end in them. */
  bytes: Buffer;
  programStart: number;
  programEnd: number;
  addressSize: number;
  minInst: number;
  defaultIsStmt: boolean;
  lineBase: number;
  lineRange: number;
  opcodeBase: number;
  stdLengths: number[];
  dirs: string[];
  offset: number;
}

/** One row of the line-number matrix, as the state machine emits it. */
export interface LineProgramRow extends LineRow {
  /** DW_LNE_set_discriminator's value for this row (0 when none). */
  discriminator: number;
}

/** Reads the header of the line program at an offset of .debug_line (DWARF 2-5): versions, file names. */
export async function readLineProgramHeader(sections: DwarfSections, offset: number): Promise<LineProgramHeader> {
  const file = sections.file;
  const head = await sections.readPart('.debug_line', offset, Math.min(12, sections.sectionSize('.debug_line') - offset));
  const first = new ByteCursor(head, 0, '.debug_line', file, offset).initialLength();
  const bytes = await sections.readPart('.debug_line', offset, first.length + (first.offsetSize === 8 ? 12 : 4));
  const c = new ByteCursor(bytes, 0, '.debug_line', file, offset);
  const { length, offsetSize } = c.initialLength();
  const end = c.pos + length;
  const version = c.u16();
  if (version < 2 || version > 5) c.fail(`line program version ${version}; kdive reads versions 2 to 5`, c.pos - 2);
  let addressSize = 8;
  if (version >= 5) {
    addressSize = c.u8();
    c.u8(); // segment selector size
  }
  const headerLength = c.offset(offsetSize);
  const programStart = c.pos + headerLength;
  const minInst = c.u8();
  if (version >= 4) c.u8(); // maximum_operations_per_instruction: 1 on every target kdive reads
  const defaultIsStmt = c.u8() !== 0;
  const lineBase = (c.u8() << 24) >> 24;
  const lineRange = c.u8();
  const opcodeBase = c.u8();
  const stdLengths: number[] = [];
  for (let i = 1; i < opcodeBase; i++) stdLengths.push(c.u8());
  if (lineRange === 0) c.fail('line_range of 0');

  let dirs: string[] = [];
  let files: string[] = [];
  if (version >= 5) {
    const lineStr = await sections.section('.debug_line_str');
    const str = await sections.section('.debug_str');
    const readEntries = () => {
      const formats: [number, number][] = [];
      const nFormats = c.u8();
      for (let i = 0; i < nFormats; i++) formats.push([c.uleb(), c.uleb()]);
      const countAt = c.pos;
      const count = c.uleb();
      // Each entry takes at least a byte per field: a count the header cannot hold (or entries of no
      // field at all) would have this loop allocate for ever.
      if (count > 0 && (formats.length === 0 || count > c.buf.length - c.pos)) c.fail(`${count} directory or file entries of ${formats.length} fields do not fit in the line program header`, countAt);
      const out: { path: string; dir: number }[] = [];
      for (let i = 0; i < count; i++) {
        let p = '';
        let dir = 0;
        for (const [type, form] of formats) {
          const v = readLineForm(c, form, offsetSize, str, lineStr, file);
          if (type === DW_LNCT_path) p = String(v);
          else if (type === DW_LNCT_directory_index) dir = Number(v);
        }
        out.push({ path: p, dir });
      }
      return out;
    };
    dirs = readEntries().map((e) => e.path);
    files = readEntries().map((e) => joinPath(dirs, e.dir, e.path));
  } else {
    dirs = [''];
    for (let d = c.cstring(); d !== ''; d = c.cstring()) dirs.push(d);
    files = [''];
    for (let f = c.cstring(); f !== ''; f = c.cstring()) {
      const dir = c.uleb();
      c.uleb();
      c.uleb();
      files.push(joinPath(dirs, dir, f));
    }
  }
  return { version, files, bytes, programStart, programEnd: end, addressSize, minInst, defaultIsStmt, lineBase, lineRange, opcodeBase, stdLengths, dirs, offset };
}

/**
 * Runs a line program's state machine, calling `onRow` for every row in program order (the row
 * object is reused: copy what you keep). DW_LNE_define_file adds to `header.files`.
 */
export function runLineProgram(header: LineProgramHeader, sections: DwarfSections, onRow: (row: LineProgramRow) => void): void {
  const { bytes, minInst, lineBase, lineRange, opcodeBase, stdLengths, addressSize } = header;
  const c = new ByteCursor(bytes, header.programStart, '.debug_line', sections.file, header.offset);
  const row: LineProgramRow = { address: 0n, file: 1, line: 1, column: 0, isStmt: header.defaultIsStmt, endSequence: false, discriminator: 0 };
  const reset = () => {
    row.address = 0n; row.file = 1; row.line = 1; row.column = 0; row.isStmt = header.defaultIsStmt; row.discriminator = 0;
  };
  const emit = (endSequence = false) => {
    // The line register is unsigned: a program that advances it below 0 is corrupt, and a row
    // there would print as a line of the source that does not exist.
    if (row.line < 0) c.fail(`the line program advances the line number to ${row.line}`, c.pos - 1);
    row.endSequence = endSequence;
    onRow(row);
    row.discriminator = 0;
  };
  while (c.pos < header.programEnd) {
    const op = c.u8();
    if (op >= opcodeBase) {
      const adj = op - opcodeBase;
      row.address += BigInt(Math.floor(adj / lineRange) * minInst);
      row.line += lineBase + (adj % lineRange);
      emit();
    } else if (op === 0) {
      const len = c.uleb();
      const next = c.pos + len;
      const sub = c.u8();
      if (sub === 1) {
        emit(true);
        reset();
      } else if (sub === 2) row.address = c.address(addressSize);
      else if (sub === 3) {
        const f = c.cstring();
        const dir = c.uleb();
        c.uleb();
        c.uleb();
        header.files.push(joinPath(header.dirs, dir, f));
      } else if (sub === 4) row.discriminator = c.uleb();
      c.pos = next;
    } else if (op === 1) emit();
    else if (op === 2) row.address += BigInt(c.uleb() * minInst);
    else if (op === 3) row.line += c.sleb();
    else if (op === 4) row.file = c.uleb();
    else if (op === 5) row.column = c.uleb();
    else if (op === 6) row.isStmt = !row.isStmt;
    else if (op === 7) { /* basic_block */ }
    else if (op === 8) row.address += BigInt(Math.floor((255 - opcodeBase) / lineRange) * minInst);
    else if (op === 9) row.address += BigInt(c.u16());
    else if (op === 10 || op === 11) { /* prologue_end, epilogue_begin */ }
    else if (op === 12) c.uleb();
    else for (let i = 0; i < (stdLengths[op - 1] ?? 0); i++) c.uleb();
  }
}

/** Parses the line program at an offset of .debug_line (DWARF 2-5). */
export async function readLineTable(sections: DwarfSections, offset: number): Promise<LineTable> {
  const header = await readLineProgramHeader(sections, offset);
  const rows: LineRow[] = [];
  runLineProgram(header, sections, (r) => rows.push({ address: r.address, file: r.file, line: r.line, column: r.column, isStmt: r.isStmt, endSequence: r.endSequence }));
  const sequences: LineTable['sequences'] = [];
  for (let i = 0, first = 0; i < rows.length; i++) {
    if (!rows[i]!.endSequence) continue;
    if (i > first) sequences.push({ start: rows[first]!.address, end: rows[i]!.address, first, last: i });
    first = i + 1;
  }
  sequences.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  return { version: header.version, files: header.files, rows, sequences };
}

function readLineForm(c: ByteCursor, form: number, offsetSize: 4 | 8, str: Buffer | undefined, lineStr: Buffer | undefined, file: string): string | number {
  switch (form) {
    case DW_FORM.string: return c.cstring();
    case DW_FORM.line_strp: {
      const off = c.offset(offsetSize);
      return lineStr ? stringAt(lineStr, off, '.debug_line_str', file) : c.fail('line_strp without .debug_line_str');
    }
    case DW_FORM.strp: {
      const off = c.offset(offsetSize);
      return str ? stringAt(str, off, '.debug_str', file) : c.fail('strp without .debug_str');
    }
    case DW_FORM.udata: return c.uleb();
    case DW_FORM.data1: return c.u8();
    case DW_FORM.data2: return c.u16();
    case DW_FORM.data4: return c.u32();
    case DW_FORM.data8: return Number(c.u64());
    case DW_FORM.data16: c.skip(16); return 0;
    case DW_FORM.block: c.skip(c.uleb()); return 0;
    default: return c.fail(`unsupported form 0x${form.toString(16)} in a line table header`);
  }
}

/**
 * addr2line's rule: an absolute name stands alone; a relative one is joined to its directory,
 * and a relative directory other than entry 0 is itself under entry 0 (the compilation directory).
 */
function joinPath(dirs: string[], index: number, name: string): string {
  if (name.startsWith('/')) return name;
  const dir = dirs[index] ?? '';
  const full = dir && !dir.startsWith('/') && index !== 0 && dirs[0] ? `${dirs[0]}/${dir}` : dir;
  return full ? `${full}/${name}` : name;
}
