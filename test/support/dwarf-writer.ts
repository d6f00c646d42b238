/**
 * Builds small DWARF 4 and 5 sections in memory for the fast tests: .debug_info with its
 * .debug_abbrev (abbreviations made from the DIEs), .debug_str/.debug_line_str, line programs,
 * .debug_aranges, location lists (.debug_loclists for version 5, .debug_loc for 4) and range
 * lists (.debug_rnglists, .debug_ranges).
 * 64-bit little-endian, 32-bit DWARF offsets. What it writes follows the DWARF 5 standard (§7),
 * not the reader under test.
 */

export function uleb(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

export function sleb(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const u16 = (v: number) => [v & 0xff, (v >> 8) & 0xff];
const u32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
const u64 = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  return [...b];
};
const cstr = (s: string) => [...Buffer.from(s, 'utf8'), 0];

/** DWARF expression operations, as bytes (DWARF 5 §2.5, §2.6). */
export const op = {
  addr: (a: bigint) => [0x03, ...u64(a)],
  deref: () => [0x06],
  const1u: (v: number) => [0x08, v & 0xff],
  const1s: (v: number) => [0x09, v & 0xff],
  const2u: (v: number) => [0x0a, ...u16(v)],
  const4u: (v: number) => [0x0c, ...u32(v)],
  const8u: (v: bigint) => [0x0e, ...u64(v)],
  constu: (v: number | bigint) => [0x10, ...uleb(v)],
  consts: (v: number | bigint) => [0x11, ...sleb(v)],
  dup: () => [0x12],
  drop: () => [0x13],
  over: () => [0x14],
  swap: () => [0x16],
  and: () => [0x1a],
  minus: () => [0x1c],
  mul: () => [0x1e],
  neg: () => [0x1f],
  not: () => [0x20],
  or: () => [0x21],
  plus: () => [0x22],
  plusUconst: (v: number) => [0x23, ...uleb(v)],
  shl: () => [0x24],
  shr: () => [0x25],
  shra: () => [0x26],
  xor: () => [0x27],
  lit: (n: number) => {
    if (n < 0 || n > 31) throw new Error(`dwarf-writer: DW_OP_lit${n} does not exist (0 to 31)`);
    return [0x30 + n];
  },
  reg: (n: number) => (n < 32 ? [0x50 + n] : [0x90, ...uleb(n)]),
  breg: (n: number, off: number) => [0x70 + n, ...sleb(off)],
  regx: (n: number) => [0x90, ...uleb(n)],
  fbreg: (off: number) => [0x91, ...sleb(off)],
  bregx: (n: number, off: number) => [0x92, ...uleb(n), ...sleb(off)],
  piece: (size: number) => [0x93, ...uleb(size)],
  nop: () => [0x96],
  callFrameCfa: () => [0x9c],
  implicitValue: (bytes: number[]) => [0x9e, ...uleb(bytes.length), ...bytes],
  stackValue: () => [0x9f],
  entryValue: (inner: number[]) => [0xa3, ...uleb(inner.length), ...inner],
  implicitPointer: () => [0xa0, 0, 0, 0, 0, 0],
} as const;

/** An expression from operations: `expr(op.fbreg(-20))`. */
export function expr(...ops: number[][]): Buffer {
  return Buffer.from(ops.flat());
}

/** A reference to the DIE labelled `id` in the same unit (written as DW_FORM_ref4). */
export interface Ref {
  ref: string;
}
/** An offset into a location list section, filled in when the sections are built. */
export interface LocRef {
  loclist: number;
}
export type AttrInput = number | bigint | string | Buffer | boolean | Ref | LocRef;
/** [DW_AT, DW_FORM, value]. DW_FORM_implicit_const keeps its value in the abbreviation. */
export type Attr = [number, number, AttrInput];

export interface DieSpec {
  tag: number;
  /** A label other DIEs of the unit refer to with `{ ref: id }`. */
  id?: string;
  attrs?: Attr[];
  children?: DieSpec[];
}

export interface LineRowSpec {
  address: bigint;
  line: number;
  file?: number;
  column?: number;
  isStmt?: boolean;
}

export interface LineProgramSpec {
  version: 4 | 5;
  /** Version 5: entry 0 is the compilation directory. Version 4: the include directories (1-based). */
  dirs: string[];
  /** Version 5: 0-based (entry 0 is the primary file). Version 4: 1-based, as written. */
  files: { name: string; dir: number }[];
  /** Each sequence: rows in address order, then the address just past its code. */
  sequences: { rows: LineRowSpec[]; end: bigint }[];
  /** Version 5: write paths as DW_FORM_line_strp instead of inline strings. */
  lineStrp?: boolean;
}

export interface LocEntry {
  start: bigint;
  end: bigint;
  expr: Buffer;
}

const DW_FORM = {
  addr: 0x01, data2: 0x05, data4: 0x06, data8: 0x07, string: 0x08, data1: 0x0b, flag: 0x0c, sdata: 0x0d,
  strp: 0x0e, udata: 0x0f, ref4: 0x13, sec_offset: 0x17, exprloc: 0x18, flag_present: 0x19, line_strp: 0x1f,
  implicit_const: 0x21,
} as const;

class StringTable {
  private bytes: number[] = [];
  private readonly at = new Map<string, number>();
  add(s: string): number {
    let off = this.at.get(s);
    if (off === undefined) {
      off = this.bytes.length;
      this.at.set(s, off);
      this.bytes.push(...cstr(s));
    }
    return off;
  }
  buffer(): Buffer {
    return Buffer.from(this.bytes);
  }
}

/** Collects units, line programs and location lists; `sections()` lays them out. */
export class DwarfWriter {
  private readonly str = new StringTable();
  private readonly lineStr = new StringTable();
  private readonly units: { version: 4 | 5; root: DieSpec; ranges: { start: bigint; end: bigint }[] }[] = [];
  private readonly lines: number[] = [];
  private readonly loclists: number[] = [];
  private readonly loc: number[] = [];
  private readonly rnglists: number[] = [];
  private readonly ranges: number[] = [];

  /** Adds a unit; `ranges` go to .debug_aranges for it. Returns nothing: offsets are known after `sections()`. */
  unit(version: 4 | 5, root: DieSpec, ranges: { start: bigint; end: bigint }[] = []): this {
    this.units.push({ version, root, ranges });
    return this;
  }

  /** Adds a line program; its offset in .debug_line is the value for DW_AT_stmt_list. */
  lineProgram(spec: LineProgramSpec): number {
    const offset = this.lines.length;
    this.lines.push(...this.encodeLineProgram(spec));
    return offset;
  }

  /** A DWARF 5 location list (start_end entries); the offset is for DW_AT_location (DW_FORM_sec_offset). */
  locList5(entries: LocEntry[], fallback?: Buffer): number {
    if (this.loclists.length === 0) this.loclists.push(...u32(0), ...u16(5), 8, 0, ...u32(0)); // header; length patched later
    const offset = this.loclists.length;
    if (fallback) this.loclists.push(0x05, ...uleb(fallback.length), ...fallback); // DW_LLE_default_location
    for (const e of entries) this.loclists.push(0x07, ...u64(e.start), ...u64(e.end), ...uleb(e.expr.length), ...e.expr); // DW_LLE_start_end
    this.loclists.push(0x00);
    return offset;
  }

  /** A DWARF 4 .debug_loc list: addresses relative to `base` (the unit's low_pc). */
  locList4(entries: LocEntry[], base: bigint): number {
    const offset = this.loc.length;
    for (const e of entries) this.loc.push(...u64(e.start - base), ...u64(e.end - base), ...u16(e.expr.length), ...e.expr);
    this.loc.push(...u64(0n), ...u64(0n));
    return offset;
  }

  /** A DWARF 5 range list: a base address, then offset pairs from it (DW_RLE_base_address, DW_RLE_offset_pair). */
  rangeList5(base: bigint, ranges: { start: bigint; end: bigint }[]): number {
    if (this.rnglists.length === 0) this.rnglists.push(...u32(0), ...u16(5), 8, 0, ...u32(0)); // header; length patched later
    const offset = this.rnglists.length;
    this.rnglists.push(0x05, ...u64(base));
    for (const r of ranges) this.rnglists.push(0x04, ...uleb(r.start - base), ...uleb(r.end - base));
    this.rnglists.push(0x00);
    return offset;
  }

  /** A DWARF 4 .debug_ranges list, relative to `base` (the unit's low_pc). */
  rangeList4(base: bigint, ranges: { start: bigint; end: bigint }[]): number {
    const offset = this.ranges.length;
    for (const r of ranges) this.ranges.push(...u64(r.start - base), ...u64(r.end - base));
    this.ranges.push(...u64(0n), ...u64(0n));
    return offset;
  }

  /** Every section, named as in an ELF file. Unit offsets are in `unitOffsets`, in the order added. */
  sections(): { sections: Record<string, Buffer>; unitOffsets: number[]; dieOffsets: Map<string, number> } {
    const abbrev: number[] = [];
    const abbrevCodes = new Map<string, number>();
    const info: number[] = [];
    const unitOffsets: number[] = [];
    const dieOffsets = new Map<string, number>();
    const aranges: number[] = [];
    for (const u of this.units) {
      const unitOffset = info.length;
      unitOffsets.push(unitOffset);
      const abbrevOffset = abbrev.length;
      const headerSize = u.version === 5 ? 12 : 11;
      // Two passes: the first finds every labelled DIE's offset (ref4 is fixed-size), the second writes.
      const labels = new Map<string, number>();
      let body: number[] = [];
      for (let pass = 0; pass < 2; pass++) {
        const abbrevBytes: number[] = [];
        abbrevCodes.clear();
        body = [];
        const write = (d: DieSpec) => {
          if (d.id && pass === 0) labels.set(d.id, headerSize + body.length);
          const attrs = d.attrs ?? [];
          const key = `${d.tag}:${d.children?.length ? 1 : 0}:${attrs.map(([at, form, v]) => `${at}/${form}${form === DW_FORM.implicit_const ? `=${v}` : ''}`).join(',')}`;
          let code = abbrevCodes.get(key);
          if (code === undefined) {
            code = abbrevCodes.size + 1;
            abbrevCodes.set(key, code);
            abbrevBytes.push(...uleb(code), ...uleb(d.tag), d.children?.length ? 1 : 0);
            for (const [at, form, v] of attrs) {
              abbrevBytes.push(...uleb(at), ...uleb(form));
              if (form === DW_FORM.implicit_const) abbrevBytes.push(...sleb(v as number));
            }
            abbrevBytes.push(0, 0);
          }
          body.push(...uleb(code));
          for (const [, form, v] of attrs) body.push(...this.encodeForm(form, v, labels, pass === 1));
          if (d.children?.length) {
            for (const c of d.children) write(c);
            body.push(0);
          }
        };
        write(u.root);
        if (pass === 1) abbrev.push(...abbrevBytes, 0);
      }
      for (const [id, off] of labels) {
        if (dieOffsets.has(id)) throw new Error(`dwarf-writer: the label '${id}' is used in two units`);
        dieOffsets.set(id, unitOffset + off);
      }
      const header = u.version === 5 ? [...u16(5), 0x01 /* DW_UT_compile */, 8, ...u32(abbrevOffset)] : [...u16(4), ...u32(abbrevOffset), 8];
      info.push(...u32(header.length + body.length), ...header, ...body);
      if (u.ranges.length) {
        const set = [...u16(2), ...u32(unitOffset), 8, 0, 0, 0, 0, 0]; // header padded to 16 from the set start (4 + 12)
        for (const r of u.ranges) set.push(...u64(r.start), ...u64(r.end - r.start));
        set.push(...u64(0n), ...u64(0n));
        aranges.push(...u32(set.length), ...set);
      }
    }
    const sections: Record<string, Buffer> = {
      '.debug_info': Buffer.from(info),
      '.debug_abbrev': Buffer.from(abbrev),
      '.debug_str': this.str.buffer(),
    };
    const lineStr = this.lineStr.buffer();
    if (lineStr.length) sections['.debug_line_str'] = lineStr;
    if (this.lines.length) sections['.debug_line'] = Buffer.from(this.lines);
    if (aranges.length) sections['.debug_aranges'] = Buffer.from(aranges);
    if (this.loclists.length) {
      const b = Buffer.from(this.loclists);
      b.writeUInt32LE(b.length - 4, 0);
      sections['.debug_loclists'] = b;
    }
    if (this.loc.length) sections['.debug_loc'] = Buffer.from(this.loc);
    if (this.rnglists.length) {
      const b = Buffer.from(this.rnglists);
      b.writeUInt32LE(b.length - 4, 0);
      sections['.debug_rnglists'] = b;
    }
    if (this.ranges.length) sections['.debug_ranges'] = Buffer.from(this.ranges);
    return { sections, unitOffsets, dieOffsets };
  }

  private encodeForm(form: number, v: AttrInput, labels: Map<string, number>, final: boolean): number[] {
    switch (form) {
      case DW_FORM.addr: return u64(v as bigint);
      case DW_FORM.data1: return [Number(v) & 0xff];
      case DW_FORM.data2: return u16(Number(v));
      case DW_FORM.data4: return u32(Number(v));
      case DW_FORM.data8: return u64(BigInt(v as number | bigint));
      case DW_FORM.udata: return uleb(v as number | bigint);
      case DW_FORM.sdata: return sleb(v as number | bigint);
      case DW_FORM.flag: return [v ? 1 : 0];
      case DW_FORM.flag_present: case DW_FORM.implicit_const: return [];
      case DW_FORM.string: return cstr(v as string);
      case DW_FORM.strp: return u32(this.str.add(v as string));
      case DW_FORM.line_strp: return u32(this.lineStr.add(v as string));
      case DW_FORM.exprloc: return [...uleb((v as Buffer).length), ...(v as Buffer)];
      case DW_FORM.sec_offset: return u32(typeof v === 'object' && 'loclist' in (v as LocRef) ? (v as LocRef).loclist : Number(v));
      case DW_FORM.ref4: {
        const id = (v as Ref).ref;
        const off = labels.get(id);
        if (final && off === undefined) throw new Error(`dwarf-writer: no DIE labelled '${id}' in this unit`);
        return u32(off ?? 0);
      }
      default:
        throw new Error(`dwarf-writer: form 0x${form.toString(16)} is not written`);
    }
  }

  private encodeLineProgram(spec: LineProgramSpec): number[] {
    const LINE_BASE = -5, LINE_RANGE = 14, OPCODE_BASE = 13;
    const head: number[] = [1 /* min_inst_length */, 1 /* max_ops */, 1 /* default_is_stmt */, LINE_BASE & 0xff, LINE_RANGE, OPCODE_BASE, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1];
    const pathForm = spec.lineStrp ? DW_FORM.line_strp : DW_FORM.string;
    const path = (s: string) => (spec.lineStrp ? u32(this.lineStr.add(s)) : cstr(s));
    if (spec.version === 5) {
      head.push(1, ...uleb(1 /* DW_LNCT_path */), ...uleb(pathForm), ...uleb(spec.dirs.length));
      for (const d of spec.dirs) head.push(...path(d));
      head.push(2, ...uleb(1), ...uleb(pathForm), ...uleb(2 /* DW_LNCT_directory_index */), ...uleb(DW_FORM.udata), ...uleb(spec.files.length));
      for (const f of spec.files) head.push(...path(f.name), ...uleb(f.dir));
    } else {
      for (const d of spec.dirs) head.push(...cstr(d));
      head.push(0);
      for (const f of spec.files) head.push(...cstr(f.name), ...uleb(f.dir), 0, 0);
      head.push(0);
    }
    const prog: number[] = [];
    for (const seq of spec.sequences) {
      let address = seq.rows[0]!.address;
      let line = 1, file = 1, column = 0, isStmt = true;
      prog.push(0, 9, 2, ...u64(address)); // DW_LNE_set_address
      for (const r of seq.rows) {
        if ((r.file ?? 1) !== file) prog.push(4, ...uleb((file = r.file ?? 1)));
        if ((r.column ?? 0) !== column) prog.push(5, ...uleb((column = r.column ?? 0)));
        if ((r.isStmt ?? true) !== isStmt) {
          prog.push(6);
          isStmt = !isStmt;
        }
        const dAddr = Number(r.address - address);
        const dLine = r.line - line;
        const special = (dLine - LINE_BASE) + LINE_RANGE * dAddr + OPCODE_BASE;
        if (dLine >= LINE_BASE && dLine < LINE_BASE + LINE_RANGE && special <= 255) prog.push(special);
        else {
          if (dLine) prog.push(3, ...sleb(dLine));
          if (dAddr) prog.push(2, ...uleb(dAddr));
          prog.push(1); // DW_LNS_copy
        }
        address = r.address;
        line = r.line;
      }
      prog.push(2, ...uleb(Number(seq.end - address)), 0, 1, 1); // advance_pc, DW_LNE_end_sequence
    }
    const afterHeaderLength = [...head];
    const versionPart = spec.version === 5 ? [...u16(5), 8, 0] : [...u16(4)];
    const rest = [...versionPart, ...u32(afterHeaderLength.length), ...afterHeaderLength, ...prog];
    return [...u32(rest.length), ...rest];
  }
}
