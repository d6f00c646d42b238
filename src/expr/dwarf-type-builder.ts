import { DW_AT, DW_TAG } from '../symbols/dwarf/constants.js';
import { attrNumber, attrString, type Die } from '../symbols/dwarf/die.js';
import type { DwarfInfo } from '../symbols/dwarf/dwarf-info.js';
import { ByteCursor } from '../symbols/dwarf/byte-cursor.js';
import { VOID, type CMember, type CType } from './c-types.js';
import { canonicalBaseTypeName } from '../symbols/dwarf/base-type-name.js';

const DW_ATE_boolean = 0x02;
const DW_ATE_float = 0x04;
const DW_ATE_signed = 0x05;
const DW_ATE_signed_char = 0x06;
const DW_ATE_unsigned_char = 0x08;

/** Builds CTypes from DWARF type DIEs, once per DIE; struct members on first use. */
export class DwarfTypeBuilder {
  private readonly byOffset = new Map<number, CType>();

  constructor(private readonly dwarf: DwarfInfo) {}

  /** The type a DIE's DW_AT_type names (void when it has none). */
  async typeOf(die: Die): Promise<CType> {
    const ref = die.attrs.get(DW_AT.type);
    return typeof ref === 'number' ? this.fromOffset(ref) : VOID;
  }

  async fromOffset(offset: number): Promise<CType> {
    const known = this.byOffset.get(offset);
    if (known) return known;
    const die = await this.dwarf.dieAt(offset);
    if (!die) return VOID;
    return this.fromDie(die);
  }

  async fromDie(die: Die): Promise<CType> {
    const known = this.byOffset.get(die.offset);
    if (known) return known;
    const name = attrString(die, DW_AT.name);
    const size = attrNumber(die, DW_AT.byte_size) ?? 0;
    let t: CType;
    switch (die.tag) {
      case DW_TAG.base_type: {
        const enc = attrNumber(die, DW_AT.encoding) ?? DW_ATE_signed;
        t = enc === DW_ATE_float
          ? { kind: 'float', name: name ?? 'float', size }
          : { kind: 'int', name: canonicalBaseTypeName(name ?? 'int'), size, signed: enc === DW_ATE_signed || enc === DW_ATE_signed_char, char: enc === DW_ATE_signed_char || enc === DW_ATE_unsigned_char, bool: enc === DW_ATE_boolean };
        break;
      }
      case DW_TAG.pointer_type:
      case DW_TAG.reference_type: {
        // Placeholder first: a pointer to a struct that points back here must find this entry.
        const p: { kind: 'pointer'; target: CType } = { kind: 'pointer', target: VOID };
        this.byOffset.set(die.offset, p);
        p.target = await this.typeOf(die);
        return p;
      }
      case DW_TAG.typedef: {
        const td: { kind: 'typedef'; name: string; target: CType } = { kind: 'typedef', name: name ?? '?', target: VOID };
        this.byOffset.set(die.offset, td);
        td.target = await this.typeOf(die);
        return td;
      }
      case DW_TAG.const_type:
      case DW_TAG.volatile_type:
      case DW_TAG.atomic_type:
      case DW_TAG.restrict_type: {
        const target = await this.typeOf(die);
        if (die.tag !== DW_TAG.const_type && die.tag !== DW_TAG.volatile_type) return target;
        t = { kind: 'qualified', qualifier: die.tag === DW_TAG.const_type ? 'const' : 'volatile', target };
        break;
      }
      case DW_TAG.structure_type:
      case DW_TAG.union_type: {
        const kind = die.tag === DW_TAG.structure_type ? 'struct' : 'union';
        const isDeclaration = die.attrs.get(DW_AT.declaration) === true || (die.attrs.has(DW_AT.declaration) && !die.attrs.has(DW_AT.byte_size));
        if (isDeclaration && name) {
          // An incomplete `struct foo;` here: the definition lives in another unit.
          const def = await this.dwarf.findType(`${kind} ${name}`);
          if (def && def.die.offset !== die.offset && !def.die.attrs.has(DW_AT.declaration)) {
            const full = await this.fromDie(def.die);
            this.byOffset.set(die.offset, full);
            return full;
          }
        }
        let members: Promise<CMember[]> | undefined;
        t = { kind, name, size, members: () => (members ??= this.membersOf(die)) };
        break;
      }
      case DW_TAG.enumeration_type: {
        const values = die.children
          .filter((c) => c.tag === DW_TAG.enumerator)
          .map((c) => ({ name: attrString(c, DW_AT.name) ?? '?', value: constValue(c) }));
        const base = await this.typeOf(die);
        t = { kind: 'enum', name, size: size || 4, signed: base.kind === 'int' ? base.signed : values.some((v) => v.value < 0n), values };
        break;
      }
      case DW_TAG.array_type: {
        const element = await this.typeOf(die);
        const dims = die.children.filter((c) => c.tag === DW_TAG.subrange_type).map((sub) => attrNumber(sub, DW_AT.count) ?? (attrNumber(sub, DW_AT.upper_bound) !== undefined ? attrNumber(sub, DW_AT.upper_bound)! + 1 : undefined));
        // int a[2][3] is an array of 2 arrays of 3.
        t = element;
        for (let i = dims.length - 1; i >= 0; i--) t = { kind: 'array', element: t, count: dims[i] };
        if (dims.length === 0) t = { kind: 'array', element, count: undefined };
        break;
      }
      case DW_TAG.subroutine_type:
      case DW_TAG.subprogram: {
        const params: CType[] = [];
        let variadic = false;
        for (const c of die.children) {
          if (c.tag === DW_TAG.formal_parameter) params.push(await this.typeOf(c));
          else if (c.tag === DW_TAG.unspecified_parameters) variadic = true;
        }
        t = { kind: 'func', returns: await this.typeOf(die), params, variadic, prototyped: die.attrs.has(DW_AT.prototyped) };
        break;
      }
      default:
        t = VOID;
    }
    this.byOffset.set(die.offset, t);
    return t;
  }

  private async membersOf(die: Die): Promise<CMember[]> {
    // The DIE may come from a scope-only parse: read its subtree for the members.
    const full = (await this.dwarf.dieAt(die.offset)) ?? die;
    const out: CMember[] = [];
    for (const m of full.children) {
      if (m.tag !== DW_TAG.member) continue;
      const loc = m.attrs.get(DW_AT.data_member_location);
      let offset = typeof loc === 'number' ? loc : typeof loc === 'bigint' ? Number(loc) : Buffer.isBuffer(loc) && loc[0] === 0x23 ? new ByteCursor(loc, 1, 'member location', '').uleb() : 0;
      const member: CMember = { name: attrString(m, DW_AT.name) ?? '', type: await this.typeOf(m), offset };
      const bitSize = attrNumber(m, DW_AT.bit_size);
      if (bitSize !== undefined) {
        const dataBit = attrNumber(m, DW_AT.data_bit_offset);
        let bit: number;
        if (dataBit !== undefined) bit = dataBit;
        else {
          // DWARF 2/3 style: bit_offset counts from the most significant bit of a storage unit.
          const storage = attrNumber(m, DW_AT.byte_size) ?? 4;
          bit = offset * 8 + storage * 8 - (attrNumber(m, DW_AT.bit_offset) ?? 0) - bitSize;
        }
        offset = Math.floor(bit / 8);
        member.offset = offset;
        member.bitSize = bitSize;
        member.bitOffset = bit - offset * 8;
      }
      out.push(member);
    }
    return out;
  }
}

function constValue(die: Die): bigint {
  const v = die.attrs.get(DW_AT.const_value);
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'bigint') return v;
  if (Buffer.isBuffer(v)) {
    let r = 0n;
    for (let i = v.length - 1; i >= 0; i--) r = (r << 8n) | BigInt(v[i]!);
    return r;
  }
  return 0n;
}

