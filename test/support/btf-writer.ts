import { BTF_KIND } from '../../src/symbols/btf/index.js';

/**
 * Writes small BTF blobs in memory for the reader's tests: types are added in id order (the first
 * gets id 1, or the base's last id + 1 for split BTF) and strings are interned.
 */
export class BtfWriter {
  private readonly records: Buffer[] = [];
  private readonly strings: Buffer[] = [Buffer.from([0])];
  private stringsLength = 1;
  private readonly interned = new Map<string, number>();

  constructor(private readonly firstId = 1, private readonly firstString = 0) {
    if (firstString) {
      // Split BTF's string section starts with its own NUL too; offsets continue after the base's.
      this.interned.set('', 0);
    }
  }

  str(s: string): number {
    if (s === '') return 0;
    const known = this.interned.get(s);
    if (known !== undefined) return known;
    const off = this.firstString + this.stringsLength;
    const b = Buffer.from(`${s}\0`, 'latin1');
    this.strings.push(b);
    this.stringsLength += b.length;
    this.interned.set(s, off);
    return off;
  }

  private add(name: string, kind: number, vlen: number, sizeOrType: number, trailing: number[], kindFlag = false): number {
    const head = Buffer.alloc(12);
    head.writeUInt32LE(this.str(name), 0);
    head.writeUInt32LE(((kindFlag ? 1 : 0) << 31 | (kind << 24) | vlen) >>> 0, 4);
    head.writeUInt32LE(sizeOrType >>> 0, 8);
    const tail = Buffer.alloc(trailing.length * 4);
    trailing.forEach((v, i) => tail.writeUInt32LE(v >>> 0, i * 4));
    this.records.push(Buffer.concat([head, tail]));
    return this.firstId + this.records.length - 1;
  }

  int(name: string, size: number, opts: { signed?: boolean; char?: boolean; bool?: boolean } = {}): number {
    const enc = (opts.signed ? 1 : 0) | (opts.char ? 2 : 0) | (opts.bool ? 4 : 0);
    return this.add(name, BTF_KIND.INT, 0, size, [(enc << 24) | (size * 8)]);
  }
  ptr(type: number): number {
    return this.add('', BTF_KIND.PTR, 0, type, []);
  }
  typedef(name: string, type: number): number {
    return this.add(name, BTF_KIND.TYPEDEF, 0, type, []);
  }
  constOf(type: number): number {
    return this.add('', BTF_KIND.CONST, 0, type, []);
  }
  array(element: number, count: number, index = 0): number {
    return this.add('', BTF_KIND.ARRAY, 0, 0, [element, index, count]);
  }
  /** Members as [name, type, bitOffset, bitSize?]; any bitSize makes the record use kind_flag. */
  struct(name: string, size: number, members: [string, number, number, number?][], union = false): number {
    const kindFlag = members.some((m) => m[3] !== undefined);
    const words = members.flatMap(([n, t, bit, bits]) => [this.str(n), t, kindFlag ? ((bits ?? 0) << 24) | bit : bit]);
    return this.add(name, union ? BTF_KIND.UNION : BTF_KIND.STRUCT, members.length, size, words, kindFlag);
  }
  fwd(name: string, union = false): number {
    return this.add(name, BTF_KIND.FWD, 0, 0, [], union);
  }
  enumOf(name: string, size: number, values: [string, number][], signed = false): number {
    return this.add(name, BTF_KIND.ENUM, values.length, size, values.flatMap(([n, v]) => [this.str(n), v]), signed);
  }
  /** Params as [name, type]; a trailing ['', 0] is `...`. */
  funcProto(returns: number, params: [string, number][]): number {
    return this.add('', BTF_KIND.FUNC_PROTO, params.length, returns, params.flatMap(([n, t]) => [this.str(n), t]));
  }
  func(name: string, proto: number): number {
    return this.add(name, BTF_KIND.FUNC, 1, proto, []);
  }
  variable(name: string, type: number): number {
    return this.add(name, BTF_KIND.VAR, 0, type, [1]);
  }
  dataSection(name: string, size: number, vars: [number, number, number][]): number {
    return this.add(name, BTF_KIND.DATASEC, vars.length, size, vars.flat());
  }

  bytes(): Buffer {
    const types = Buffer.concat(this.records);
    const strings = Buffer.concat(this.strings);
    const header = Buffer.alloc(24);
    header.writeUInt16LE(0xeb9f, 0);
    header[2] = 1;
    header.writeUInt32LE(24, 4);
    header.writeUInt32LE(0, 8);
    header.writeUInt32LE(types.length, 12);
    header.writeUInt32LE(types.length, 16);
    header.writeUInt32LE(strings.length, 20);
    return Buffer.concat([header, types, strings]);
  }
}
