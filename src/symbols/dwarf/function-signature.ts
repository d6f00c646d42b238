import { dieRanges } from './address-ranges.js';
import { DW_AT, DW_TAG } from './constants.js';
import type { Die } from './die.js';
import type { DwarfInfo } from './dwarf-info.js';
import { typeName } from './type-names.js';

/**
 * The declared return type of the out-of-line function whose code holds `address` (link-time),
 * as C spells it (`int`, `struct dentry *`); 'void' for none; undefined without debug info.
 */
export async function returnTypeAt(dwarf: DwarfInfo, address: bigint): Promise<string | undefined> {
  const unit = await dwarf.unitForAddress(address);
  if (!unit) return undefined;
  const root = await unit.scopes();
  const base = typeof root.attrs.get(DW_AT.low_pc) === 'bigint' ? (root.attrs.get(DW_AT.low_pc) as bigint) : 0n;
  for (const child of root.children) {
    if (child.tag !== DW_TAG.subprogram) continue;
    const ranges = await dieRanges(child, unit, dwarf.sections, base);
    if (!ranges.some((r) => r.start <= address && address < r.end)) continue;
    // The concrete out-of-line instance carries no type: it is on its abstract origin or declaration.
    let d: Die | undefined = await unit.subtree(child.offset);
    for (let guard = 0; d && guard < 4; guard++) {
      const t = d.attrs.get(DW_AT.type);
      if (typeof t === 'number') return typeName(await dwarf.dieAt(t, unit), (off) => dwarf.dieAt(off, unit));
      const ref = d.attrs.get(DW_AT.abstract_origin) ?? d.attrs.get(DW_AT.specification);
      if (typeof ref !== 'number') return 'void';
      d = await dwarf.dieAt(ref, unit);
    }
    return 'void';
  }
  return undefined;
}
