import { BTF_KIND, type BtfFile } from '../symbols/btf/index.js';
import { canonicalBaseTypeName } from '../symbols/dwarf/base-type-name.js';
import { FormatError } from '../errors.js';
import { VOID, type CMember, type CType } from './c-types.js';

/**
 * Builds CTypes from BTF type ids, once per id; struct members on first use. The same model the
 * DWARF builder makes, so expressions, ptype and the kernel helpers do not know which one they got.
 */
export class BtfTypeBuilder {
  private readonly byId = new Map<number, CType>();
  /** Ids being built without a placeholder (qualifiers, arrays, prototypes): meeting one again is a cycle. */
  private readonly building = new Set<number>();

  constructor(private readonly btf: BtfFile) {}

  fromId(id: number): CType {
    const known = this.byId.get(id);
    if (known) return known;
    // Valid BTF reaches itself only through a pointer (which has its placeholder); anything else is a damaged file.
    if (this.building.has(id)) throw new FormatError(this.btf.name, 0, `BTF type ${id} refers to itself without a pointer in between`);
    this.building.add(id);
    try {
      const t = this.build(id);
      if (isDeclaratorLoop(t)) throw new FormatError(this.btf.name, 0, `BTF type ${id} is a chain of pointers, typedefs or qualifiers that comes back to itself`);
      return t;
    } catch (err) {
      // Types built on the way may hold the loop: none of them is kept.
      this.byId.clear();
      throw err;
    } finally {
      this.building.delete(id);
    }
  }

  private build(id: number): CType {
    const t = this.btf.type(id);
    if (!t) return VOID;
    let out: CType;
    switch (t.kind) {
      case BTF_KIND.INT: {
        const enc = this.btf.intEncoding(t);
        // pahole marks char types by name more reliably than by the CHAR bit, so both count.
        const isChar = enc.char || (t.sizeOrType === 1 && /\bchar\b/.test(t.name));
        out = { kind: 'int', name: canonicalBaseTypeName(t.name), size: t.sizeOrType, signed: enc.signed, char: isChar, bool: enc.bool || t.name === '_Bool' };
        break;
      }
      case BTF_KIND.FLOAT:
        out = { kind: 'float', name: t.name, size: t.sizeOrType };
        break;
      case BTF_KIND.PTR: {
        // Placeholder first: a pointer to a struct that points back here must find this entry.
        const p: { kind: 'pointer'; target: CType } = { kind: 'pointer', target: VOID };
        this.byId.set(id, p);
        p.target = this.fromId(t.sizeOrType);
        return p;
      }
      case BTF_KIND.TYPEDEF: {
        const td: { kind: 'typedef'; name: string; target: CType } = { kind: 'typedef', name: t.name, target: VOID };
        this.byId.set(id, td);
        td.target = this.fromId(t.sizeOrType);
        return td;
      }
      case BTF_KIND.CONST:
      case BTF_KIND.VOLATILE:
        out = { kind: 'qualified', qualifier: t.kind === BTF_KIND.CONST ? 'const' : 'volatile', target: this.fromId(t.sizeOrType) };
        break;
      case BTF_KIND.RESTRICT:
      case BTF_KIND.TYPE_TAG:
        // gdb does not print restrict for kernel types, and a type tag (__user, __rcu) is not C.
        out = this.fromId(t.sizeOrType);
        break;
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION: {
        let members: Promise<CMember[]> | undefined;
        out = { kind: t.kind === BTF_KIND.STRUCT ? 'struct' : 'union', name: t.name || undefined, size: t.sizeOrType, members: () => (members ??= Promise.resolve(this.membersOf(id))) };
        break;
      }
      case BTF_KIND.FWD: {
        const kind = t.kindFlag ? 'union' : 'struct';
        const full = this.btf.lookup(`${kind} ${t.name}`).find((x) => this.btf.type(x)?.kind !== BTF_KIND.FWD);
        if (full !== undefined) return this.fromId(full);
        out = { kind, name: t.name, size: 0, members: () => Promise.resolve([]) };
        break;
      }
      case BTF_KIND.ENUM:
      case BTF_KIND.ENUM64: {
        const values = this.btf.enumValues(t);
        out = { kind: 'enum', name: t.name || undefined, size: t.sizeOrType || 4, signed: t.kindFlag || values.some((v) => v.value < 0n), values };
        break;
      }
      case BTF_KIND.ARRAY: {
        const a = this.btf.array(t);
        // BTF writes a flexible array member (`x[]`) as 0 elements, as DWARF writes no bound.
        out = { kind: 'array', element: this.fromId(a.element), count: a.count || undefined };
        break;
      }
      case BTF_KIND.FUNC_PROTO: {
        const params = this.btf.params(t);
        // A last parameter of type void with no name is C's `...`.
        const variadic = params.length > 0 && params[params.length - 1]!.type === 0;
        const fixed = variadic ? params.slice(0, -1) : params;
        out = { kind: 'func', returns: this.fromId(t.sizeOrType), params: fixed.map((p) => this.fromId(p.type)), variadic, prototyped: true };
        break;
      }
      case BTF_KIND.FUNC:
      case BTF_KIND.VAR:
        out = this.fromId(t.sizeOrType);
        break;
      default:
        out = VOID;
    }
    this.byId.set(id, out);
    return out;
  }

  private membersOf(id: number): CMember[] {
    const t = this.btf.type(id)!;
    return this.btf.members(t).map((m) => {
      const member: CMember = { name: m.name, type: this.fromId(m.type), offset: Math.floor(m.bitOffset / 8) };
      if (m.bitSize !== undefined) {
        member.bitSize = m.bitSize;
        member.bitOffset = m.bitOffset - member.offset * 8;
      }
      return member;
    });
  }
}

/**
 * A declarator chain (pointers, arrays, typedefs, qualifiers) that comes back to itself without
 * reaching a struct, union, function or base type: printing or stripping it would never end.
 */
function isDeclaratorLoop(t: CType): boolean {
  const seen = new Set<CType>();
  let x: CType | undefined = t;
  while (x && (x.kind === 'typedef' || x.kind === 'qualified' || x.kind === 'pointer' || x.kind === 'array')) {
    if (seen.has(x)) return true;
    seen.add(x);
    x = x.kind === 'array' ? x.element : x.target;
  }
  return false;
}
