import { FormatError } from '../../errors.js';
import { BTF_KIND, BTF_KIND_NAMES, type BtfKind } from './btf-kinds.js';

const BTF_MAGIC = 0xeb9f;
const HEADER_LEN = 24;

/** One type record, decoded on demand from the type section (the 95k records stay as bytes). */
export interface BtfType {
  id: number;
  kind: BtfKind;
  name: string;
  vlen: number;
  kindFlag: boolean;
  /** `size` for INT/STRUCT/UNION/ENUM/DATASEC/FLOAT, the referenced type id for the others. */
  sizeOrType: number;
  /** Offset of the record's trailing data in the type section. */
  extra: number;
}

export interface BtfMember {
  name: string;
  type: number;
  /** Bit offset from the start of the struct. */
  bitOffset: number;
  /** Set for a bitfield. */
  bitSize?: number;
}

export interface BtfParam {
  name: string;
  type: number;
}

/**
 * A `.BTF` blob (the vmlinux's, `/sys/kernel/btf/vmlinux`, or a module's split BTF over a base).
 * Types are indexed by id once (one pass over the records to find where each starts); names are
 * indexed on first look-up; records are decoded when asked for.
 */
export class BtfFile {
  /** Offset in `types` of each record, by id minus `firstId`. */
  private readonly offsets: Uint32Array;
  readonly firstId: number;
  private readonly firstString: number;
  private readonly byName = new Map<string, number[]>();

  private constructor(
    readonly name: string,
    private readonly types: Buffer,
    private readonly strings: Buffer,
    /** File offset of the type section, for error messages. */
    private readonly typesAt: number,
    readonly base: BtfFile | undefined,
  ) {
    this.firstId = base ? base.firstId + base.count : 1;
    this.firstString = base ? base.firstString + base.strings.length : 0;
    this.offsets = indexRecords(types, name, typesAt);
  }

  /** Parses a BTF blob; `base` is the vmlinux BTF a module's split BTF continues. */
  static parse(bytes: Buffer, name: string, base?: BtfFile): BtfFile {
    if (bytes.length < HEADER_LEN) throw new FormatError(name, 0, `BTF is ${bytes.length} bytes, shorter than its ${HEADER_LEN}-byte header`);
    const magic = bytes.readUInt16LE(0);
    if (magic !== BTF_MAGIC) throw new FormatError(name, 0, `not BTF (magic 0x${magic.toString(16)}, expected 0xeb9f; a big-endian BTF is not supported)`);
    if (bytes[2] !== 1) throw new FormatError(name, 2, `BTF version ${bytes[2]} (kdive reads version 1)`);
    const hdrLen = bytes.readUInt32LE(4);
    const [typeOff, typeLen, strOff, strLen] = [8, 12, 16, 20].map((o) => bytes.readUInt32LE(o)) as [number, number, number, number];
    if (hdrLen < HEADER_LEN || hdrLen > bytes.length) throw new FormatError(name, 4, `BTF header length ${hdrLen} is outside the blob (${bytes.length} bytes)`);
    const end = (off: number, len: number) => hdrLen + off + len;
    if (end(typeOff, typeLen) > bytes.length) throw new FormatError(name, 8, `BTF type section [${typeOff}, +${typeLen}) runs past the blob's ${bytes.length} bytes`);
    if (end(strOff, strLen) > bytes.length) throw new FormatError(name, 16, `BTF string section [${strOff}, +${strLen}) runs past the blob's ${bytes.length} bytes`);
    const types = bytes.subarray(hdrLen + typeOff, end(typeOff, typeLen));
    const strings = bytes.subarray(hdrLen + strOff, end(strOff, strLen));
    return new BtfFile(name, types, strings, hdrLen + typeOff, base);
  }

  /** Number of types in this blob (not counting a base). */
  get count(): number {
    return this.offsets.length;
  }

  /** The highest type id this blob (with its base) defines. */
  get lastId(): number {
    return this.firstId + this.count - 1;
  }

  /** The string at a BTF string offset (split BTF's offsets continue after the base's). */
  string(offset: number): string {
    if (offset < this.firstString) return this.base!.string(offset);
    const o = offset - this.firstString;
    if (o >= this.strings.length) throw new FormatError(this.name, o, `BTF string offset ${offset} is outside the string section (${this.strings.length} bytes)`);
    let e = o;
    while (e < this.strings.length && this.strings[e] !== 0) e++;
    return this.strings.toString('latin1', o, e);
  }

  /** The record of a type id; id 0 is void and has none. */
  type(id: number): BtfType | undefined {
    if (id < this.firstId) return id === 0 ? undefined : this.base?.type(id);
    const i = id - this.firstId;
    if (i >= this.offsets.length) throw new FormatError(this.name, this.typesAt, `BTF type id ${id} is past the last type (${this.lastId})`);
    const at = this.offsets[i]!;
    const info = this.types.readUInt32LE(at + 4);
    return {
      id,
      kind: ((info >>> 24) & 0x1f) as BtfKind,
      name: this.string(this.types.readUInt32LE(at)),
      vlen: info & 0xffff,
      kindFlag: info >>> 31 === 1,
      sizeOrType: this.types.readUInt32LE(at + 8),
      extra: at + 12,
    };
  }

  /** An INT's encoding word: bit 0 signed, 1 char, 2 bool; bits 16–23 offset, 0–7 bit count. */
  intEncoding(t: BtfType): { signed: boolean; char: boolean; bool: boolean; bits: number } {
    const word = this.owner(t).types.readUInt32LE(t.extra);
    const enc = (word >>> 24) & 0xf;
    return { signed: (enc & 1) !== 0, char: (enc & 2) !== 0, bool: (enc & 4) !== 0, bits: word & 0xff };
  }

  array(t: BtfType): { element: number; index: number; count: number } {
    const b = this.owner(t).types;
    return { element: b.readUInt32LE(t.extra), index: b.readUInt32LE(t.extra + 4), count: b.readUInt32LE(t.extra + 8) };
  }

  members(t: BtfType): BtfMember[] {
    const b = this.owner(t).types;
    const out: BtfMember[] = [];
    for (let i = 0; i < t.vlen; i++) {
      const at = t.extra + i * 12;
      const raw = b.readUInt32LE(at + 8);
      // With kind_flag the offset word packs the bitfield size in its top byte.
      const m: BtfMember = { name: this.string(b.readUInt32LE(at)), type: b.readUInt32LE(at + 4), bitOffset: t.kindFlag ? raw & 0xffffff : raw };
      if (t.kindFlag && raw >>> 24) m.bitSize = raw >>> 24;
      out.push(m);
    }
    return out;
  }

  enumValues(t: BtfType): { name: string; value: bigint }[] {
    const b = this.owner(t).types;
    const out: { name: string; value: bigint }[] = [];
    const wide = t.kind === BTF_KIND.ENUM64;
    for (let i = 0; i < t.vlen; i++) {
      const at = t.extra + i * (wide ? 12 : 8);
      const name = this.string(b.readUInt32LE(at));
      let value: bigint;
      if (wide) {
        const v = (BigInt(b.readUInt32LE(at + 8)) << 32n) | BigInt(b.readUInt32LE(at + 4));
        value = t.kindFlag ? BigInt.asIntN(64, v) : v;
      } else value = t.kindFlag ? BigInt(b.readInt32LE(at + 4)) : BigInt(b.readUInt32LE(at + 4));
      out.push({ name, value });
    }
    return out;
  }

  params(t: BtfType): BtfParam[] {
    const b = this.owner(t).types;
    const out: BtfParam[] = [];
    for (let i = 0; i < t.vlen; i++) out.push({ name: this.string(b.readUInt32LE(t.extra + i * 8)), type: b.readUInt32LE(t.extra + i * 8 + 4) });
    return out;
  }

  /** A DATASEC's variables: their VAR type id, offset in the section and size. */
  dataSection(t: BtfType): { type: number; offset: number; size: number }[] {
    const b = this.owner(t).types;
    const out: { type: number; offset: number; size: number }[] = [];
    for (let i = 0; i < t.vlen; i++) {
      const at = t.extra + i * 12;
      out.push({ type: b.readUInt32LE(at), offset: b.readUInt32LE(at + 4), size: b.readUInt32LE(at + 8) });
    }
    return out;
  }

  /**
   * Type ids with this name, base first. Structs, unions and enums are named `struct foo` etc., as
   * C writes them; typedefs, base types, functions and variables by their bare name.
   */
  lookup(name: string): number[] {
    let own = this.byName.get(name);
    if (!own) {
      own = this.findNamed(name);
      this.byName.set(name, own);
    }
    const inBase = this.base?.lookup(name) ?? [];
    return inBase.length ? [...inBase, ...own] : own;
  }

  /** Every id of a kind (DATASECs, to find per-CPU variables). */
  idsOfKind(kind: BtfKind): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.offsets.length; i++) {
      const info = this.types.readUInt32LE(this.offsets[i]! + 4);
      if (((info >>> 24) & 0x1f) === kind) out.push(this.firstId + i);
    }
    return out;
  }

  kindName(kind: BtfKind): string {
    return BTF_KIND_NAMES[kind] ?? `kind ${kind}`;
  }

  /**
   * One name's records without indexing them all: the name's offsets in the string section (BTF
   * strings are deduplicated: usually one), then one pass comparing each record's name offset.
   * A cold `ptype` then costs a few milliseconds instead of decoding 95k names.
   */
  private findNamed(name: string): number[] {
    const m = /^(struct|union|enum) (.+)$/.exec(name);
    const tag = m?.[1];
    const bare = m ? m[2]! : name;
    const wanted = this.stringOffsets(bare);
    if (wanted.size === 0) return [];
    const out: number[] = [];
    for (let i = 0; i < this.offsets.length; i++) {
      const at = this.offsets[i]!;
      if (!wanted.has(this.types.readUInt32LE(at))) continue;
      const info = this.types.readUInt32LE(at + 4);
      const kind = (info >>> 24) & 0x1f;
      const kindTag =
        kind === BTF_KIND.STRUCT ? 'struct' : kind === BTF_KIND.UNION ? 'union' : kind === BTF_KIND.ENUM || kind === BTF_KIND.ENUM64 ? 'enum'
        // A forward declaration says itself whether it is a struct or a union.
        : kind === BTF_KIND.FWD ? (info >>> 31 === 1 ? 'union' : 'struct') : undefined;
      if (kindTag === tag) out.push(this.firstId + i);
    }
    return out;
  }

  /** Offsets (as type records hold them) of the strings equal to `text`. */
  private stringOffsets(text: string): Set<number> {
    const needle = Buffer.from(`${text}\0`, 'latin1');
    const found = new Set<number>();
    for (let at = this.strings.indexOf(needle); at >= 0; at = this.strings.indexOf(needle, at + 1)) {
      if (at === 0 || this.strings[at - 1] === 0) found.add(this.firstString + at);
    }
    return found;
  }

  /** The blob whose type section holds a record (a split BTF's records may be the base's). */
  private owner(t: BtfType): BtfFile {
    return t.id < this.firstId ? this.base!.owner(t) : this;
  }
}

/** One pass over the records: where each type starts, checking each fits. */
function indexRecords(types: Buffer, name: string, typesAt: number): Uint32Array {
  // Records are at least 12 bytes: that bounds the count, and one typed array avoids growing a list.
  const all = new Uint32Array(Math.floor(types.length / 12) + 1);
  let count = 0;
  const offsets = { push: (o: number) => (all[count++] = o), get length() { return count; } };
  let at = 0;
  while (at < types.length) {
    if (at + 12 > types.length) throw new FormatError(name, typesAt + at, `BTF type record ${offsets.length + 1} is cut short (${types.length - at} of 12 bytes)`);
    const info = types.readUInt32LE(at + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const trailing = trailingBytes(kind, vlen);
    if (trailing === undefined) throw new FormatError(name, typesAt + at + 4, `BTF type record ${offsets.length + 1} has unknown kind ${kind}`);
    if (at + 12 + trailing > types.length) throw new FormatError(name, typesAt + at, `BTF type record ${offsets.length + 1} (${BTF_KIND_NAMES[kind as BtfKind]}) runs past the type section`);
    offsets.push(at);
    at += 12 + trailing;
  }
  return all.slice(0, count);
}

function trailingBytes(kind: number, vlen: number): number | undefined {
  switch (kind) {
    case BTF_KIND.INT:
      return 4;
    case BTF_KIND.ARRAY:
      return 12;
    case BTF_KIND.STRUCT:
    case BTF_KIND.UNION:
    case BTF_KIND.DATASEC:
    case BTF_KIND.ENUM64:
      return 12 * vlen;
    case BTF_KIND.ENUM:
    case BTF_KIND.FUNC_PROTO:
      return 8 * vlen;
    case BTF_KIND.VAR:
    case BTF_KIND.DECL_TAG:
      return 4;
    case BTF_KIND.PTR:
    case BTF_KIND.FWD:
    case BTF_KIND.TYPEDEF:
    case BTF_KIND.VOLATILE:
    case BTF_KIND.CONST:
    case BTF_KIND.RESTRICT:
    case BTF_KIND.FUNC:
    case BTF_KIND.FLOAT:
    case BTF_KIND.TYPE_TAG:
      return 0;
    default:
      return undefined;
  }
}
