import { FormatError } from '../../errors.js';

/**
 * A bounds-checked reader over one section's bytes. Errors name the file, the section and
 * the offset in it, so a bad file gives one useful line instead of a RangeError.
 */
export class ByteCursor {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly section: string,
    readonly file: string,
    /** Absolute offset of buf[0] in the section (for messages). */
    readonly base = 0,
  ) {}

  fail(what: string, at = this.pos): never {
    throw new FormatError(this.file, this.base + at, `${this.section}: ${what}`);
  }

  need(n: number): void {
    // Written so that a NaN position (an offset computed from a missing base) fails too.
    if (!(this.pos >= 0 && this.pos + n <= this.buf.length)) {
      if (!(this.pos >= 0)) this.fail(`an offset that is no position in the section (${this.pos}): a base attribute missing or corrupt?`, 0);
      this.fail(`needs ${n} more bytes, the section ends at 0x${(this.base + this.buf.length).toString(16)}`);
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u24(): number {
    this.need(3);
    const v = this.buf.readUIntLE(this.pos, 3);
    this.pos += 3;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A 64-bit value that must fit a JS number (offsets, sizes). */
  u64n(): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`value 0x${v.toString(16)} is too large`);
    return Number(v);
  }

  uleb(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.buf.length) this.fail('LEB128 runs past the end');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return result;
      if (shift > 63) this.fail('LEB128 too long');
    }
  }

  ulebBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) this.fail('LEB128 runs past the end');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) return result;
    }
  }

  sleb(): number {
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      if (this.pos >= this.buf.length) this.fail('LEB128 runs past the end');
      b = this.buf[this.pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    if (b & 0x40) result -= 2 ** shift;
    return result;
  }

  /** A 4- or 8-byte offset, per the unit's DWARF format. */
  offset(size: 4 | 8): number {
    return size === 4 ? this.u32() : this.u64n();
  }

  address(size: number): bigint {
    if (size === 8) return this.u64();
    if (size === 4) return BigInt(this.u32());
    return this.fail(`address size ${size} is not supported`);
  }

  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) this.fail('unterminated string');
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** Reads an initial length: returns the unit's length and its offset size. */
  initialLength(): { length: number; offsetSize: 4 | 8 } {
    const l = this.u32();
    if (l === 0xffffffff) return { length: this.u64n(), offsetSize: 8 };
    if (l >= 0xfffffff0) this.fail(`reserved unit length 0x${l.toString(16)}`);
    return { length: l, offsetSize: 4 };
  }
}

/** A NUL-terminated string at an offset of a string section. */
export function stringAt(section: Buffer, offset: number, name: string, file: string): string {
  if (offset >= section.length) throw new FormatError(file, offset, `${name}: string offset 0x${offset.toString(16)} is past the end (0x${section.length.toString(16)})`);
  const end = section.indexOf(0, offset);
  return section.toString('utf8', offset, end < 0 ? section.length : end);
}
