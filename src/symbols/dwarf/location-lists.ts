import { ByteCursor } from './byte-cursor.js';
import { DW_FORM } from './constants.js';
import type { DwarfSections } from './dwarf-sections.js';
import type { DwarfUnit } from './dwarf-unit.js';

const LLE = { end_of_list: 0, base_addressx: 1, startx_endx: 2, startx_length: 3, offset_pair: 4, default_location: 5, base_address: 6, start_end: 7, start_length: 8 } as const;

/**
 * The expression of a location list that applies at `pc` (DWARF 5 .debug_loclists, DWARF 4
 * .debug_loc); undefined when no entry covers it (the variable is optimized out there).
 */
export async function locationAt(sections: DwarfSections, unit: DwarfUnit, form: number, value: number, pc: bigint, unitBase: bigint): Promise<Buffer | undefined> {
  const size = unit.header.addressSize;
  if (unit.header.version < 5) {
    const buf = await sections.require('.debug_loc');
    const c = new ByteCursor(buf, value, '.debug_loc', sections.file);
    let base = unitBase;
    for (;;) {
      const a = c.address(size);
      const b = c.address(size);
      if (a === 0n && b === 0n) return undefined;
      if (a === 0xffffffffffffffffn) { base = b; continue; }
      const expr = c.bytes(c.u16());
      if (base + a <= pc && pc < base + b) return expr;
    }
  }
  const buf = await sections.require('.debug_loclists');
  let offset = value;
  if (form === DW_FORM.loclistx) {
    const c = new ByteCursor(buf, unit.bases.loclistsBase + value * unit.header.offsetSize, '.debug_loclists', sections.file);
    offset = unit.bases.loclistsBase + c.offset(unit.header.offsetSize);
  }
  const c = new ByteCursor(buf, offset, '.debug_loclists', sections.file);
  const addrx = async (i: number) => new ByteCursor(await sections.require('.debug_addr'), unit.bases.addrBase + i * size, '.debug_addr', sections.file).address(size);
  let base = unitBase;
  let fallback: Buffer | undefined;
  for (;;) {
    const kind = c.u8();
    let range: [bigint, bigint] | undefined;
    switch (kind) {
      case LLE.end_of_list: return fallback;
      case LLE.base_addressx: base = await addrx(c.uleb()); continue;
      case LLE.startx_endx: { const s = await addrx(c.uleb()); range = [s, await addrx(c.uleb())]; break; }
      case LLE.startx_length: { const s = await addrx(c.uleb()); range = [s, s + c.ulebBig()]; break; }
      case LLE.offset_pair: { const a = c.ulebBig(); range = [base + a, base + c.ulebBig()]; break; }
      case LLE.default_location: fallback = c.bytes(c.uleb()); continue;
      case LLE.base_address: base = c.address(size); continue;
      case LLE.start_end: { const s = c.address(size); range = [s, c.address(size)]; break; }
      case LLE.start_length: { const s = c.address(size); range = [s, s + c.ulebBig()]; break; }
      default: return c.fail(`unknown location list entry kind ${kind}`, c.pos - 1);
    }
    const expr = c.bytes(c.uleb());
    if (range && range[0] <= pc && pc < range[1]) return expr;
  }
}
