import { FormatError } from '../../errors.js';
import { ByteCursor } from './byte-cursor.js';
import { DW_AT, DW_FORM, DW_RLE } from './constants.js';
import type { Die } from './die.js';
import type { DwarfSections } from './dwarf-sections.js';
import type { DwarfUnit } from './dwarf-unit.js';

export interface AddressRange {
  start: bigint;
  end: bigint;
}

/** `.debug_aranges`: address → compilation unit offset, as sorted parallel arrays. */
export class ArangeIndex {
  private constructor(private readonly starts: BigUint64Array, private readonly ends: BigUint64Array, private readonly units: Uint32Array) {}

  static async read(sections: DwarfSections): Promise<ArangeIndex | undefined> {
    const buf = await sections.section('.debug_aranges');
    if (!buf) return undefined;
    const rows: { start: bigint; end: bigint; unit: number }[] = [];
    const c = new ByteCursor(buf, 0, '.debug_aranges', sections.file);
    while (c.pos < buf.length) {
      const setStart = c.pos;
      const { length, offsetSize } = c.initialLength();
      const end = c.pos + length;
      c.u16(); // version
      const unit = c.offset(offsetSize);
      const addressSize = c.u8();
      c.u8(); // segment size
      // Tuples are aligned to twice the address size from the set's start.
      const align = addressSize * 2;
      const rel = c.pos - setStart;
      c.pos += (align - (rel % align)) % align;
      while (c.pos + align <= end) {
        const start = c.address(addressSize);
        const len = c.address(addressSize);
        if (start === 0n && len === 0n) break;
        if (len > 0n) rows.push({ start, end: start + len, unit });
      }
      c.pos = end;
    }
    rows.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    return new ArangeIndex(
      BigUint64Array.from(rows.map((r) => r.start)),
      BigUint64Array.from(rows.map((r) => r.end)),
      Uint32Array.from(rows.map((r) => r.unit)),
    );
  }

  /** The unit offset covering an address. */
  unitFor(address: bigint): number | undefined {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! <= address) lo = mid + 1;
      else hi = mid;
    }
    const i = lo - 1;
    return i >= 0 && address < this.ends[i]! ? this.units[i] : undefined;
  }

  /** Distinct unit offsets, in file order. */
  allUnits(): number[] {
    return [...new Set(this.units)].sort((a, b) => a - b);
  }
}

/** The address ranges of a DIE: low_pc/high_pc, or DW_AT_ranges (.debug_rnglists or .debug_ranges). */
export async function dieRanges(die: Die, unit: DwarfUnit, sections: DwarfSections, unitBase: bigint): Promise<AddressRange[]> {
  const low = die.attrs.get(DW_AT.low_pc);
  const high = die.attrs.get(DW_AT.high_pc);
  if (typeof low === 'bigint' && high !== undefined) {
    const form = die.forms.get(DW_AT.high_pc);
    // A high_pc that is neither an address nor a constant (a corrupt abbreviation) bounds nothing.
    if (typeof high !== 'bigint' && !(typeof high === 'number' && Number.isInteger(high))) {
      throw new FormatError(sections.file, die.offset, `.debug_info: DIE at 0x${die.offset.toString(16)} has a DW_AT_high_pc of form 0x${(form ?? 0).toString(16)}, neither an address nor a constant`);
    }
    // DWARF 4+: a constant high_pc is a length; an address-form one is the end itself.
    const end = form === DW_FORM.addr ? (high as bigint) : low + BigInt(high);
    return [{ start: low, end }];
  }
  const ranges = die.attrs.get(DW_AT.ranges);
  if (ranges === undefined) return [];
  const form = die.forms.get(DW_AT.ranges);
  if (unit.header.version >= 5) {
    const rnglists = await sections.require('.debug_rnglists');
    let offset = Number(ranges);
    if (form === DW_FORM.rnglistx) {
      const c = new ByteCursor(rnglists, unit.bases.rnglistsBase + Number(ranges) * unit.header.offsetSize, '.debug_rnglists', sections.file);
      offset = unit.bases.rnglistsBase + c.offset(unit.header.offsetSize);
    }
    return readRnglist(rnglists, offset, unit, sections, unitBase);
  }
  const old = await sections.require('.debug_ranges');
  const c = new ByteCursor(old, Number(ranges), '.debug_ranges', sections.file);
  const out: AddressRange[] = [];
  let base = unitBase;
  for (;;) {
    const a = c.address(unit.header.addressSize);
    const b = c.address(unit.header.addressSize);
    if (a === 0n && b === 0n) break;
    if (a === 0xffffffffffffffffn) base = b;
    else if (b > a) out.push({ start: base + a, end: base + b });
  }
  return out;
}

async function readRnglist(buf: Buffer, offset: number, unit: DwarfUnit, sections: DwarfSections, unitBase: bigint): Promise<AddressRange[]> {
  const c = new ByteCursor(buf, offset, '.debug_rnglists', sections.file);
  const size = unit.header.addressSize;
  const out: AddressRange[] = [];
  let base = unitBase;
  const addrx = async (i: number): Promise<bigint> => {
    const addr = await sections.require('.debug_addr');
    return new ByteCursor(addr, unit.bases.addrBase + i * size, '.debug_addr', sections.file).address(size);
  };
  for (;;) {
    const kind = c.u8();
    switch (kind) {
      case DW_RLE.end_of_list: return out;
      case DW_RLE.base_addressx: base = await addrx(c.uleb()); break;
      case DW_RLE.startx_endx: { const s = await addrx(c.uleb()); out.push({ start: s, end: await addrx(c.uleb()) }); break; }
      case DW_RLE.startx_length: { const s = await addrx(c.uleb()); out.push({ start: s, end: s + c.ulebBig() }); break; }
      case DW_RLE.offset_pair: { const a = c.ulebBig(); const b = c.ulebBig(); out.push({ start: base + a, end: base + b }); break; }
      case DW_RLE.base_address: base = c.address(size); break;
      case DW_RLE.start_end: { const s = c.address(size); out.push({ start: s, end: c.address(size) }); break; }
      case DW_RLE.start_length: { const s = c.address(size); out.push({ start: s, end: s + c.ulebBig() }); break; }
      default: c.fail(`unknown range list entry kind ${kind}`, c.pos - 1);
    }
  }
}
