import type { RegisterDescription, RegisterValues } from '../target.js';

/**
 * Register values decoded from a `g` reply by the layout, size-tolerantly: a short reply
 * leaves the trailing registers unavailable, a long one has its surplus ignored (never the
 * "'g' packet reply is too long" failure).
 */
export class GPacketValues implements RegisterValues {
  private readonly byName = new Map<string, Buffer>();

  constructor(layout: readonly RegisterDescription[], data: Buffer) {
    for (const r of layout) {
      const size = Math.ceil(r.bitSize / 8);
      if (r.offset + size <= data.length) this.byName.set(r.name, data.subarray(r.offset, r.offset + size));
    }
  }

  /**
   * From the `g` reply's hex, register by register: a register whose digits are cut short or
   * not hex (gdbserver sends `xx` for unavailable bytes) is unavailable, the others still parse.
   */
  static fromHex(layout: readonly RegisterDescription[], hex: string): GPacketValues {
    const values = new GPacketValues([], Buffer.alloc(0));
    for (const r of layout) {
      const digits = hex.slice(r.offset * 2, (r.offset + Math.ceil(r.bitSize / 8)) * 2);
      if (digits.length === Math.ceil(r.bitSize / 8) * 2 && /^[0-9a-fA-F]*$/.test(digits)) values.set(r.name, Buffer.from(digits, 'hex'));
    }
    return values;
  }

  /** Adds a register fetched on its own (`p`) after a short `g` reply. */
  set(name: string, raw: Buffer): void {
    this.byName.set(name, raw);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): bigint | undefined {
    const raw = this.byName.get(name);
    if (!raw || raw.length > 8) return undefined;
    let v = 0n;
    for (let i = raw.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i]!);
    return v;
  }

  raw(name: string): Buffer | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}
