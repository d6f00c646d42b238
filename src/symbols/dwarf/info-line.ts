import { NotFoundError } from '../../errors.js';
import type { AddressRange } from './address-ranges.js';
import { DW_AT } from './constants.js';
import { attrString } from './die.js';
import type { DwarfInfo } from './dwarf-info.js';

/** `info line FUNCTION` or `info line FILE:LINE` (gdb's): the code ranges of that line in the unit named after the file. */
export async function infoLine(dwarf: DwarfInfo, spec: string): Promise<{ file: string; shortFile: string; line: number; ranges: AddressRange[] }> {
  const m = /^(.+):(\d+)$/.exec(spec);
  if (!m) {
    const f = await dwarf.lookupFunction(spec);
    const l = await dwarf.lineFor(f.address);
    if (!l) throw new NotFoundError(`no line information for ${spec} in ${dwarf.file}`);
    return { file: l.file, shortFile: l.shortFile, line: l.line, ranges: [{ start: l.start, end: l.end }] };
  }
  const [, file, lineText] = m;
  const line = Number(lineText);
  const ranges: AddressRange[] = [];
  // Where a row's address range ends when rows after it share its address (views of one pc).
  const untilNextAddress: bigint[] = [];
  let foundFile: string | undefined;
  let shortFile = file!;
  for (const off of await dwarf.allUnitOffsets()) {
    const unit = await dwarf.unit(off);
    const root = await unit.rootOnly();
    const cuName = attrString(root, DW_AT.name) ?? '';
    if (!cuName.endsWith(file!)) continue;
    const table = await dwarf.lineTable(unit);
    if (!table) continue;
    const rows = table.rows;
    const compDir = attrString(root, DW_AT.comp_dir);
    for (let i = 0; i + 1 < rows.length; i++) {
      const r = rows[i]!;
      const f = table.files[r.file] ?? '';
      if (r.endSequence || r.line !== line || !r.isStmt || !(f === file || f.endsWith(`/${file}`))) continue;
      foundFile = f;
      shortFile = compDir && f.startsWith(`${compDir}/`) ? f.slice(compDir.length + 1) : f;
      ranges.push({ start: r.address, end: rows[i + 1]!.address });
      let j = i + 1;
      while (j + 1 < rows.length && rows[j]!.address === r.address && !rows[j]!.endSequence) j++;
      untilNextAddress.push(rows[j]!.address);
    }
  }
  if (!foundFile) throw new NotFoundError(`no code for ${spec} in ${dwarf.file}`);
  // With only empty rows, the line's code runs to the next address the table gives (as gdb shows it).
  const whole = ranges.map((r, i) => ({ start: r.start, end: r.end > r.start ? r.end : untilNextAddress[i]! }));
  ranges.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  whole.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  // Rows of no length (several views of one address) add nothing; adjacent ones merge.
  const merged: AddressRange[] = [];
  for (const r of ranges) {
    if (r.end <= r.start) continue;
    const last = merged[merged.length - 1];
    if (last && r.start <= last.end) last.end = r.end > last.end ? r.end : last.end;
    else merged.push({ ...r });
  }
  return { file: foundFile, shortFile, line, ranges: merged.length ? merged : whole.slice(0, 1) };
}
