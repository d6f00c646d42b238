import { ByteCursor } from './byte-cursor.js';
import { DW_FORM } from './constants.js';

/**
 * Skips one attribute value without decoding it: the index pass over .debug_info uses this for
 * every attribute it does not need, so it allocates nothing per DIE.
 */
export function skipForm(c: ByteCursor, form: number, addressSize: number, offsetSize: 4 | 8, version: number): void {
  switch (form) {
    case DW_FORM.flag_present: case DW_FORM.implicit_const: return;
    case DW_FORM.data1: case DW_FORM.ref1: case DW_FORM.flag: case DW_FORM.strx1: case DW_FORM.addrx1: c.pos += 1; return;
    case DW_FORM.data2: case DW_FORM.ref2: case DW_FORM.strx2: case DW_FORM.addrx2: c.pos += 2; return;
    case DW_FORM.strx3: case DW_FORM.addrx3: c.pos += 3; return;
    case DW_FORM.data4: case DW_FORM.ref4: case DW_FORM.strx4: case DW_FORM.addrx4: case DW_FORM.ref_sup4: c.pos += 4; return;
    case DW_FORM.data8: case DW_FORM.ref8: case DW_FORM.ref_sig8: case DW_FORM.ref_sup8: c.pos += 8; return;
    case DW_FORM.data16: c.pos += 16; return;
    case DW_FORM.addr: c.pos += addressSize; return;
    case DW_FORM.strp: case DW_FORM.line_strp: case DW_FORM.sec_offset: case DW_FORM.strp_sup:
    case DW_FORM.GNU_ref_alt: case DW_FORM.GNU_strp_alt: c.pos += offsetSize; return;
    case DW_FORM.ref_addr: c.pos += version <= 2 ? addressSize : offsetSize; return;
    case DW_FORM.sdata: c.sleb(); return;
    case DW_FORM.udata: case DW_FORM.ref_udata: case DW_FORM.strx: case DW_FORM.addrx: case DW_FORM.loclistx:
    case DW_FORM.rnglistx: case DW_FORM.GNU_addr_index: case DW_FORM.GNU_str_index: c.uleb(); return;
    case DW_FORM.string: {
      const end = c.buf.indexOf(0, c.pos);
      if (end < 0) c.fail('unterminated string');
      c.pos = end + 1;
      return;
    }
    case DW_FORM.exprloc: case DW_FORM.block: { const n = c.uleb(); c.pos += n; return; }
    case DW_FORM.block1: { const n = c.u8(); c.pos += n; return; }
    case DW_FORM.block2: { const n = c.u16(); c.pos += n; return; }
    case DW_FORM.block4: { const n = c.u32(); c.pos += n; return; }
    case DW_FORM.indirect: skipForm(c, c.uleb(), addressSize, offsetSize, version); return;
    default: c.fail(`unknown attribute form 0x${form.toString(16)}`);
  }
}
