import { NotFoundError } from '../../errors.js';
import { ByteCursor } from './byte-cursor.js';
import { DW_AT, DW_TAG } from './constants.js';
import { attrNumber, attrString, type Die } from './die.js';
import type { DwarfInfo } from './dwarf-info.js';
import { stripTypedefs, typeName, typeSize } from './type-names.js';

export interface TypeMember {
  name: string;
  type: string;
  offset: number;
  size: number;
  bitOffset?: number;
  bitSize?: number;
  /** Members of an anonymous struct or union member (offsets from the outer struct). */
  members?: TypeMember[];
}

export interface TypeLayout {
  name: string;
  size: number;
  members: TypeMember[];
}

/** Like gdb's `ptype/o`: members with offsets and sizes; anonymous members keep their own members. */
export async function typeLayout(dwarf: DwarfInfo, spec: string, opts: { flat?: boolean } = {}): Promise<TypeLayout> {
  const found = await dwarf.findType(spec);
  if (!found) throw new NotFoundError(`no type named '${spec}' in ${dwarf.file}`);
  const resolve = (off: number) => dwarf.dieAt(off, found.unit);
  const die = (await stripTypedefs(found.die, resolve)) ?? found.die;
  const members = await membersOf(die, 0, resolve);
  return {
    name: spec.trim(),
    size: (await typeSize(die, resolve)) ?? 0,
    members: opts.flat ? flattenMembers(members) : members,
  };
}

async function membersOf(die: Die, base: number, resolve: (off: number) => Promise<Die | undefined>): Promise<TypeMember[]> {
  const out: TypeMember[] = [];
  for (const m of die.children) {
    if (m.tag !== DW_TAG.member) continue;
    const typeRef = m.attrs.get(DW_AT.type);
    const type = typeof typeRef === 'number' ? await resolve(typeRef) : undefined;
    const loc = m.attrs.get(DW_AT.data_member_location);
    let offset = base + (typeof loc === 'number' ? loc : typeof loc === 'bigint' ? Number(loc) : Buffer.isBuffer(loc) ? plusUconst(loc) : 0);
    const member: TypeMember = { name: attrString(m, DW_AT.name) ?? '', type: await typeName(type, resolve), offset, size: (await typeSize(type, resolve)) ?? 0 };
    const bitSize = attrNumber(m, DW_AT.bit_size);
    if (bitSize !== undefined) {
      const dataBit = attrNumber(m, DW_AT.data_bit_offset);
      const bit = dataBit ?? offset * 8;
      member.bitSize = bitSize;
      offset = base + Math.floor((dataBit !== undefined ? dataBit : (offset - base) * 8) / 8);
      member.offset = typeof loc === 'number' ? base + loc : offset;
      member.bitOffset = (dataBit !== undefined ? dataBit : bit) - (member.offset - base) * 8;
    }
    const inner = await stripTypedefs(type, resolve);
    if (!member.name && inner && (inner.tag === DW_TAG.structure_type || inner.tag === DW_TAG.union_type)) {
      member.members = await membersOf(inner, member.offset, resolve);
    }
    out.push(member);
  }
  return out;
}

/** DWARF 2-style member locations: `DW_OP_plus_uconst N`. */
function plusUconst(expr: Buffer): number {
  if (expr[0] === 0x23) return new ByteCursor(expr, 1, 'location expression', '').uleb();
  return 0;
}

/** Anonymous members' members as dotted names under their named parent (ptype --flat). */
export function flattenMembers(members: TypeMember[], prefix = ''): TypeMember[] {
  const out: TypeMember[] = [];
  for (const m of members) {
    const name = m.name ? `${prefix}${m.name}` : prefix.replace(/\.$/, '');
    if (m.members) out.push(...flattenMembers(m.members, m.name ? `${name}.` : prefix));
    else out.push({ ...m, name });
  }
  return out;
}
