import { NotFoundError } from '../errors.js';
import { flattenMembers, type TypeLayout, type TypeMember } from '../symbols/dwarf/type-layout.js';
import { sizeOf, strip, typeToString, type CType } from './c-types.js';
import type { ProgramTypes } from './program-types.js';

/** `kdive sym ptype` over any ProgramTypes (BTF here): the layout the DWARF reader gives, from the C type model. */
export async function programTypeLayout(types: ProgramTypes, spec: string, file: string, opts: { flat?: boolean } = {}): Promise<TypeLayout> {
  const t = await types.findType(spec.trim());
  if (!t) throw new NotFoundError(`no type named '${spec}' in ${file}`);
  const members = await membersOf(t, 0);
  return { name: spec.trim(), size: sizeOf(t), members: opts.flat ? flattenMembers(members) : members };
}

async function membersOf(t: CType, base: number): Promise<TypeMember[]> {
  const s = strip(t);
  if (s.kind !== 'struct' && s.kind !== 'union') return [];
  const out: TypeMember[] = [];
  for (const m of await s.members()) {
    const member: TypeMember = { name: m.name, type: typeToString(m.type), offset: base + m.offset, size: sizeOf(m.type) };
    if (m.bitSize !== undefined) {
      member.bitSize = m.bitSize;
      member.bitOffset = m.bitOffset ?? 0;
    }
    const inner = strip(m.type);
    if (!m.name && (inner.kind === 'struct' || inner.kind === 'union')) member.members = await membersOf(inner, member.offset);
    out.push(member);
  }
  return out;
}
