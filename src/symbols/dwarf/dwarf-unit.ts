import { ByteCursor, stringAt } from './byte-cursor.js';
import { DW_AT, DW_FORM, DW_TAG, UNIT_REF_FORMS } from './constants.js';
import type { Die } from './die.js';
import type { DwarfSections } from './dwarf-sections.js';

export interface UnitHeader {
  offset: number;
  /** Offset just past this unit. */
  end: number;
  version: number;
  unitType: number;
  addressSize: number;
  offsetSize: 4 | 8;
  abbrevOffset: number;
  /** Offset of the first DIE. */
  firstDie: number;
}

const DW_UT_compile = 1;
const DW_UT_type = 2;
const DW_UT_partial = 3;
const DW_UT_skeleton = 4;
const DW_UT_split_compile = 5;
const DW_UT_split_type = 6;

/** Reads a unit header (DWARF 2-5) from the bytes of the unit starting at `buf[0]`. */
export function parseUnitHeader(buf: Buffer, offset: number, file: string): UnitHeader {
  const c = new ByteCursor(buf, 0, '.debug_info', file, offset);
  const { length, offsetSize } = c.initialLength();
  const end = offset + c.pos + length;
  const version = c.u16();
  if (version < 2 || version > 5) c.fail(`unit at 0x${offset.toString(16)} has DWARF version ${version}; kdive reads versions 2 to 5`, 4);
  let unitType = DW_UT_compile;
  let addressSize: number;
  let abbrevOffset: number;
  if (version >= 5) {
    unitType = c.u8();
    addressSize = c.u8();
    abbrevOffset = c.offset(offsetSize);
    if (unitType === DW_UT_skeleton || unitType === DW_UT_split_compile) c.skip(8);
    else if (unitType === DW_UT_type || unitType === DW_UT_split_type) c.skip(8 + offsetSize);
    else if (unitType !== DW_UT_compile && unitType !== DW_UT_partial) c.fail(`unknown unit type ${unitType}`);
  } else {
    abbrevOffset = c.offset(offsetSize);
    addressSize = c.u8();
  }
  return { offset, end, version, unitType, addressSize, offsetSize, abbrevOffset, firstDie: offset + c.pos };
}

/** The bases a unit's DWARF 5 indexed forms are relative to. */
interface UnitBases {
  strOffsetsBase: number;
  addrBase: number;
  rnglistsBase: number;
  loclistsBase: number;
}

/**
 * One compilation unit, read from the file on demand, with its DIE tree. References inside
 * the unit are turned into absolute .debug_info offsets as they are read.
 */
export class DwarfUnit {
  private tree: Die | undefined;
  bases: UnitBases = { strOffsetsBase: 8, addrBase: 8, rnglistsBase: 12, loclistsBase: 12 };

  constructor(readonly header: UnitHeader, private readonly bytes: Buffer, private readonly sections: DwarfSections) {}

  static async read(sections: DwarfSections, offset: number): Promise<DwarfUnit> {
    const head = await sections.readPart('.debug_info', offset, Math.min(12, sections.sectionSize('.debug_info') - offset));
    const first = new ByteCursor(head, 0, '.debug_info', sections.file, offset).initialLength();
    const total = first.length + (first.offsetSize === 8 ? 12 : 4);
    const bytes = await sections.readPart('.debug_info', offset, total);
    return new DwarfUnit(parseUnitHeader(bytes, offset, sections.file), bytes, sections);
  }

  /** The unit's root DIE (DW_TAG_compile_unit) with all of its children. */
  async root(): Promise<Die> {
    if (!this.tree) this.tree = await this.parse(false);
    return this.tree;
  }

  /**
   * The code scopes only: the unit, its subprograms, inlined subroutines and lexical blocks,
   * skipping type and variable subtrees. Enough for address lookups at a fraction of the cost.
   */
  async scopes(): Promise<Die> {
    if (this.tree) return this.tree;
    if (!this.scopeTree) {
      this.scopeTree = await this.parse(false, SCOPE_TAGS);
      this.scopeIndex = new Map();
      const stack = [this.scopeTree];
      while (stack.length) {
        const d = stack.pop()!;
        this.scopeIndex.set(d.offset, d);
        stack.push(...d.children);
      }
    }
    return this.scopeTree;
  }

  /** A DIE of the scope tree by offset (its children are scopes only), else its full subtree. */
  async scopeDieAt(offset: number): Promise<Die | undefined> {
    await this.scopes();
    return this.scopeIndex?.get(offset) ?? this.dieAt(offset);
  }

  private scopeTree: Die | undefined;
  private scopeIndex: Map<number, Die> | undefined;

  /** Just the root DIE's attributes, without reading the children. */
  async rootOnly(): Promise<Die> {
    this.rootDie ??= this.tree ?? (await this.parse(true));
    return this.rootDie;
  }

  /** Every DIE of the tree, depth first. */
  async *walk(): AsyncGenerator<Die> {
    const stack = [await this.root()];
    while (stack.length) {
      const d = stack.pop()!;
      yield d;
      for (let i = d.children.length - 1; i >= 0; i--) stack.push(d.children[i]!);
    }
  }

  /**
   * A DIE of this unit by absolute offset, with its children. Without the whole tree at hand only
   * that DIE's subtree is read: printing a type reads the few hundred DIEs it refers to, not the unit.
   */
  async dieAt(offset: number): Promise<Die | undefined> {
    if (offset < this.header.firstDie || offset >= this.header.end) return undefined;
    if (this.tree) {
      if (!this.byOffset) {
        this.byOffset = new Map();
        for await (const d of this.walk()) this.byOffset.set(d.offset, d);
      }
      return this.byOffset.get(offset);
    }
    return this.subtree(offset);
  }

  /** A DIE with all of its children, never the scope-only copy (parameters live there). */
  async subtree(offset: number): Promise<Die | undefined> {
    if (offset < this.header.firstDie || offset >= this.header.end) return undefined;
    if (this.tree) return this.dieAt(offset);
    let sub = this.subtrees.get(offset);
    if (!sub) {
      await this.rootOnly(); // the bases indexed forms need
      sub = await this.parse(false, undefined, offset);
      this.subtrees.set(offset, sub);
    }
    return sub;
  }

  private byOffset: Map<number, Die> | undefined;
  private readonly subtrees = new Map<number, Die>();
  private rootDie: Die | undefined;

  private async parse(rootOnly: boolean, keep?: ReadonlySet<number>, start?: number): Promise<Die> {
    const h = this.header;
    const file = this.sections.file;
    const abbrevs = await this.sections.abbrevs(h.abbrevOffset);
    const str = await this.sections.section('.debug_str');
    const lineStr = await this.sections.section('.debug_line_str');
    const c = new ByteCursor(this.bytes, (start ?? h.firstDie) - h.offset, '.debug_info', file, h.offset);
    const end = h.end - h.offset;
    // Indexed forms (strx, addrx) are resolved after the root DIE gives the bases.
    const pendingIndexed: { die: Die; at: number; form: number; index: number }[] = [];
    let root: Die | undefined;
    const stack: Die[] = [];
    while (c.pos < end) {
      const dieOffset = h.offset + c.pos;
      const code = c.uleb();
      if (code === 0) {
        stack.pop();
        if (stack.length === 0) break;
        continue;
      }
      const ab = abbrevs.get(code);
      if (!ab) return c.fail(`DIE at 0x${dieOffset.toString(16)} uses abbreviation ${code}, which the unit's table (at 0x${h.abbrevOffset.toString(16)}) does not have`, c.pos - 1);
      const forms = ab.hasIndirect ? new Map(ab.forms) : ab.forms;
      const die: Die = { offset: dieOffset, tag: ab.tag, attrs: new Map(), forms, children: [], parent: stack[stack.length - 1] };
      for (const a of ab.attrs) {
        let form = a.form;
        if (form === DW_FORM.indirect) {
          form = c.uleb();
          forms.set(a.at, form);
        }
        const v = this.readForm(c, form, a.implicitConst, str, lineStr);
        if (typeof v === 'object' && v !== null && 'indexed' in v) pendingIndexed.push({ die, at: a.at, form, index: v.indexed });
        else die.attrs.set(a.at, v as never);
      }
      if (!root && start !== undefined) {
        root = die;
      } else if (!root) {
        root = die;
        this.bases = {
          strOffsetsBase: numberOr(die.attrs.get(DW_AT.str_offsets_base), 8),
          addrBase: numberOr(die.attrs.get(DW_AT.addr_base), 8),
          rnglistsBase: numberOr(die.attrs.get(DW_AT.rnglists_base), 12),
          loclistsBase: numberOr(die.attrs.get(DW_AT.loclists_base), 12),
        };
      } else if (keep && !keep.has(die.tag)) {
        // Not wanted: skip its subtree through DW_AT_sibling when it has one, else walk it unkept.
        if (ab.hasChildren) {
          const sibling = die.attrs.get(DW_AT.sibling);
          if (typeof sibling === 'number' && sibling > dieOffset && sibling <= h.end) c.pos = sibling - h.offset;
          else stack.push({ ...die, children: [], parent: stack[stack.length - 1] } as Die & { detached?: true });
        }
        continue;
      } else {
        stack[stack.length - 1]!.children.push(die);
      }
      if (rootOnly) break;
      if (ab.hasChildren) stack.push(die);
      else if (stack.length === 0) break;
    }
    if (!root) return c.fail(`unit at 0x${h.offset.toString(16)} has no DIEs`);
    for (const p of pendingIndexed) p.die.attrs.set(p.at, await this.resolveIndexed(p.form, p.index));
    if (start === undefined && root.tag !== DW_TAG.compile_unit && root.tag !== DW_TAG.partial_unit && root.tag !== DW_TAG.skeleton_unit && root.tag !== 0x41 /* type_unit */) {
      c.fail(`unit at 0x${h.offset.toString(16)} starts with tag 0x${root.tag.toString(16)}, not a unit DIE`, h.firstDie - h.offset);
    }
    return root;
  }

  private readForm(c: ByteCursor, form: number, implicitConst: number | undefined, str: Buffer | undefined, lineStr: Buffer | undefined): AttrOrIndex {
    const h = this.header;
    switch (form) {
      case DW_FORM.addr: return c.address(h.addressSize);
      case DW_FORM.data1: return c.u8();
      case DW_FORM.data2: return c.u16();
      case DW_FORM.data4: return c.u32();
      case DW_FORM.data8: return c.u64();
      case DW_FORM.data16: return c.bytes(16);
      case DW_FORM.sdata: return c.sleb();
      case DW_FORM.udata: return c.uleb();
      case DW_FORM.flag: return c.u8() !== 0;
      case DW_FORM.flag_present: return true;
      case DW_FORM.implicit_const: return implicitConst ?? 0;
      case DW_FORM.string: return c.cstring();
      case DW_FORM.strp: {
        const off = c.offset(h.offsetSize);
        if (!str) return c.fail('DW_FORM_strp without a .debug_str section');
        let s = this.sections.strings.get(off);
        if (s === undefined) {
          s = stringAt(str, off, '.debug_str', this.sections.file);
          this.sections.strings.set(off, s);
        }
        return s;
      }
      case DW_FORM.line_strp: {
        const off = c.offset(h.offsetSize);
        if (!lineStr) return c.fail('DW_FORM_line_strp without a .debug_line_str section');
        return stringAt(lineStr, off, '.debug_line_str', this.sections.file);
      }
      case DW_FORM.strp_sup: case DW_FORM.GNU_strp_alt: c.offset(h.offsetSize); return '<supplementary string>';
      case DW_FORM.ref1: return h.offset + c.u8();
      case DW_FORM.ref2: return h.offset + c.u16();
      case DW_FORM.ref4: return h.offset + c.u32();
      case DW_FORM.ref8: return h.offset + c.u64n();
      case DW_FORM.ref_udata: return h.offset + c.uleb();
      case DW_FORM.ref_addr: return h.version <= 2 ? Number(c.address(h.addressSize)) : c.offset(h.offsetSize);
      case DW_FORM.ref_sig8: return c.u64();
      case DW_FORM.ref_sup4: return c.u32();
      case DW_FORM.ref_sup8: return c.u64n();
      case DW_FORM.GNU_ref_alt: return c.offset(h.offsetSize);
      case DW_FORM.sec_offset: return c.offset(h.offsetSize);
      case DW_FORM.exprloc: case DW_FORM.block: return c.bytes(c.uleb());
      case DW_FORM.block1: return c.bytes(c.u8());
      case DW_FORM.block2: return c.bytes(c.u16());
      case DW_FORM.block4: return c.bytes(c.u32());
      case DW_FORM.strx: case DW_FORM.GNU_str_index: return { indexed: c.uleb() };
      case DW_FORM.strx1: return { indexed: c.u8() };
      case DW_FORM.strx2: return { indexed: c.u16() };
      case DW_FORM.strx3: return { indexed: c.u24() };
      case DW_FORM.strx4: return { indexed: c.u32() };
      case DW_FORM.addrx: case DW_FORM.GNU_addr_index: return { indexed: c.uleb() };
      case DW_FORM.addrx1: return { indexed: c.u8() };
      case DW_FORM.addrx2: return { indexed: c.u16() };
      case DW_FORM.addrx3: return { indexed: c.u24() };
      case DW_FORM.addrx4: return { indexed: c.u32() };
      // Kept as indexes: resolved against rnglists_base/loclists_base by the readers of those lists.
      case DW_FORM.loclistx: case DW_FORM.rnglistx: return c.uleb();
      default:
        return c.fail(`unknown attribute form 0x${form.toString(16)}`);
    }
  }

  private async resolveIndexed(form: number, index: number): Promise<AttrValueOut> {
    const isAddr = form === DW_FORM.addrx || form === DW_FORM.GNU_addr_index || (form >= DW_FORM.addrx1 && form <= DW_FORM.addrx4);
    const h = this.header;
    if (isAddr) {
      const addr = await this.sections.require('.debug_addr');
      const c = new ByteCursor(addr, this.bases.addrBase + index * h.addressSize, '.debug_addr', this.sections.file);
      return c.address(h.addressSize);
    }
    const offsets = await this.sections.require('.debug_str_offsets');
    const c = new ByteCursor(offsets, this.bases.strOffsetsBase + index * h.offsetSize, '.debug_str_offsets', this.sections.file);
    return stringAt(await this.sections.require('.debug_str'), c.offset(h.offsetSize), '.debug_str', this.sections.file);
  }
}

/** The DIEs that hold code: what an address lookup walks. */
const SCOPE_TAGS: ReadonlySet<number> = new Set([DW_TAG.compile_unit, DW_TAG.partial_unit, DW_TAG.subprogram, DW_TAG.inlined_subroutine, DW_TAG.lexical_block]);

type AttrValueOut = number | bigint | string | Buffer | boolean;
type AttrOrIndex = AttrValueOut | { indexed: number };

function numberOr(v: unknown, fallback: number): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : fallback;
}

export { UNIT_REF_FORMS };
