import { DW_AT, DW_TAG } from './constants.js';
import { attrNumber, attrString, type Die } from './die.js';
import { canonicalBaseTypeName } from './base-type-name.js';

/** Resolves a DIE reference (absolute .debug_info offset) to its DIE. */
export type DieResolver = (offset: number) => Promise<Die | undefined>;

/** A type's C spelling, as gdb's ptype prints it (`struct list_head *`, `char [16]`, `void (*)(int)`). */
export async function typeName(die: Die | undefined, resolve: DieResolver): Promise<string> {
  const { base, suffix } = await declarator(die, resolve, '');
  return suffix ? `${base} ${suffix}`.replace(/ +$/, '') : base;
}

async function target(die: Die, resolve: DieResolver): Promise<Die | undefined> {
  const ref = die.attrs.get(DW_AT.type);
  return typeof ref === 'number' ? resolve(ref) : undefined;
}

/** C declarators inside out: returns the base type text and what goes around the (absent) name. */
async function declarator(die: Die | undefined, resolve: DieResolver, inner: string): Promise<{ base: string; suffix: string }> {
  if (!die) return { base: 'void', suffix: inner };
  const name = attrString(die, DW_AT.name);
  switch (die.tag) {
    case DW_TAG.base_type:
      return { base: name ? canonicalBaseTypeName(name) : '?', suffix: inner };
    case DW_TAG.typedef:
      return { base: name ?? '?', suffix: inner };
    case DW_TAG.structure_type:
      return { base: `struct ${name ?? '{...}'}`, suffix: inner };
    case DW_TAG.union_type:
      return { base: `union ${name ?? '{...}'}`, suffix: inner };
    case DW_TAG.enumeration_type:
      return { base: `enum ${name ?? '{...}'}`, suffix: inner };
    case DW_TAG.pointer_type:
      return declarator(await target(die, resolve), resolve, `*${inner}`);
    case DW_TAG.const_type:
    case DW_TAG.volatile_type:
    case DW_TAG.restrict_type:
    case DW_TAG.atomic_type: {
      const q = die.tag === DW_TAG.const_type ? 'const' : die.tag === DW_TAG.volatile_type ? 'volatile' : die.tag === DW_TAG.restrict_type ? 'restrict' : '_Atomic';
      const t = await target(die, resolve);
      // `const char *`: a qualifier on a plain type goes before it; on a pointer, after the star.
      if (!t || t.tag === DW_TAG.pointer_type) return declarator(t, resolve, `${q} ${inner}`.trim());
      const r = await declarator(t, resolve, inner);
      // GCC may qualify an array of `const char` as well: C (and gdb) write the qualifier once.
      if (t.tag === DW_TAG.array_type && r.base.startsWith(`${q} `)) return r;
      return { base: `${q} ${r.base}`, suffix: r.suffix };
    }
    case DW_TAG.array_type: {
      let dims = '';
      for (const sub of die.children.filter((c) => c.tag === DW_TAG.subrange_type)) {
        const count = attrNumber(sub, DW_AT.count) ?? (attrNumber(sub, DW_AT.upper_bound) !== undefined ? attrNumber(sub, DW_AT.upper_bound)! + 1 : undefined);
        dims += `[${count ?? ''}]`;
      }
      const wrapped = inner.startsWith('*') ? `(${inner})${dims}` : `${inner}${dims}`;
      return declarator(await target(die, resolve), resolve, wrapped);
    }
    case DW_TAG.subroutine_type: {
      const params: string[] = [];
      for (const p of die.children) {
        if (p.tag === DW_TAG.formal_parameter) params.push(await typeName(await target(p, resolve), resolve));
        else if (p.tag === DW_TAG.unspecified_parameters) params.push('...');
      }
      const list = `(${params.length ? params.join(', ') : 'void'})`;
      return declarator(await target(die, resolve), resolve, inner ? `(${inner})${list}` : list);
    }
    default:
      return { base: name ?? `<tag 0x${die.tag.toString(16)}>`, suffix: inner };
  }
}

/** The size in bytes of a type, through typedefs and qualifiers. */
export async function typeSize(die: Die | undefined, resolve: DieResolver, addressSize = 8): Promise<number | undefined> {
  for (let d = die, guard = 0; d && guard < 64; guard++) {
    const size = attrNumber(d, DW_AT.byte_size);
    if (size !== undefined) return size;
    if (d.tag === DW_TAG.pointer_type) return addressSize;
    if (d.tag === DW_TAG.array_type) {
      const elem = await typeSize(await target(d, resolve), resolve, addressSize);
      if (elem === undefined) return undefined;
      let n = elem;
      for (const sub of d.children.filter((c) => c.tag === DW_TAG.subrange_type)) {
        const count = attrNumber(sub, DW_AT.count) ?? (attrNumber(sub, DW_AT.upper_bound) !== undefined ? attrNumber(sub, DW_AT.upper_bound)! + 1 : 0);
        n *= count;
      }
      return n;
    }
    d = await target(d, resolve);
  }
  return undefined;
}

/** Follows typedefs and qualifiers to the type that has members or a shape. */
export async function stripTypedefs(die: Die | undefined, resolve: DieResolver): Promise<Die | undefined> {
  let d = die;
  for (let guard = 0; d && guard < 64; guard++) {
    if (d.tag !== DW_TAG.typedef && d.tag !== DW_TAG.const_type && d.tag !== DW_TAG.volatile_type && d.tag !== DW_TAG.atomic_type && d.tag !== DW_TAG.restrict_type) return d;
    d = await target(d, resolve);
  }
  return d;
}
