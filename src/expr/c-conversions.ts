import { INT, isSigned, LONG, sizeOf, strip, UINT, ULONG, type CType } from './c-types.js';

/** C's integer promotions: small types become int. */
export function promote(t: CType): CType {
  const s = strip(t);
  if ((s.kind === 'int' || s.kind === 'enum') && s.size < 4) return INT;
  if (s.kind === 'enum') return s.signed ? INT : UINT;
  return t;
}

/** The usual arithmetic conversions, for the integer types the kernel uses. */
export function arithmeticType(a: CType, b: CType): CType {
  const pa = strip(promote(a));
  const pb = strip(promote(b));
  const size = Math.max(sizeOf(pa), sizeOf(pb));
  const unsignedWide = (t: CType) => sizeOf(t) === size && !isSigned(t);
  if (size >= 8) return unsignedWide(pa) || unsignedWide(pb) ? ULONG : LONG;
  return unsignedWide(pa) || unsignedWide(pb) ? UINT : INT;
}

/** A member by name, searching anonymous struct/union members as C does; the path to it. */
export async function findMember(t: Extract<CType, { kind: 'struct' | 'union' }>, name: string): Promise<{ type: CType; offset: number; bitSize?: number; bitOffset?: number }[] | undefined> {
  for (const m of await t.members()) {
    if (m.name === name) return [m];
    const inner = strip(m.type);
    if (!m.name && (inner.kind === 'struct' || inner.kind === 'union')) {
      const path = await findMember(inner, name);
      if (path) return [m, ...path];
    }
  }
  return undefined;
}
