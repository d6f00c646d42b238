import { FormatError } from '../../errors.js';
import type { ElfFile } from '../elf/elf-file.js';
import { decodeOrcFlags, type OrcEntry, type OrcFormat } from './orc-entry.js';

/**
 * The kernel's ORC unwind tables (`.orc_unwind_ip` + `.orc_unwind`): one 6-byte entry per
 * code range, found by binary search. IPs are kept as 32-bit offsets from the lowest one.
 */
export class OrcTable {
  private constructor(
    private readonly base: bigint,
    private readonly ipOffsets: Float64Array,
    private readonly entries: Buffer,
    private readonly order: Uint32Array,
    readonly format: OrcFormat,
  ) {}

  get length(): number {
    return this.order.length;
  }

  static async fromElf(elf: ElfFile, format?: OrcFormat): Promise<OrcTable> {
    const ipSec = elf.section('.orc_unwind_ip');
    const orcSec = elf.section('.orc_unwind');
    if (!ipSec || !orcSec) throw new FormatError(elf.path, 0, 'no ORC tables (.orc_unwind_ip/.orc_unwind): a kernel built without CONFIG_UNWINDER_ORC?');
    const n = ipSec.size / 4;
    if (!Number.isInteger(n) || orcSec.size !== n * 6) {
      throw new FormatError(elf.path, orcSec.offset, `.orc_unwind is ${orcSec.size} bytes, expected 6 per .orc_unwind_ip entry (${n})`);
    }
    const ips = await elf.readSection(ipSec);
    const entries = await elf.readSection(orcSec);
    // ≥6.4 kernels carry .orc_header; 6.3 has the signal bit but no header (we cannot tell it from 6.1 by layout).
    const fmt: OrcFormat = format ?? (elf.section('.orc_header') ? 'v3' : 'v1');
    return OrcTable.fromBuffers(ipSec.addr, ips, entries, fmt);
  }

  /** `ipTable` holds self-relative s32s: entry i covers `ipTableAddress + 4*i + ip_rel[i]`. */
  static fromBuffers(ipTableAddress: bigint, ipTable: Buffer, entries: Buffer, format: OrcFormat = 'v1'): OrcTable {
    const n = ipTable.length / 4;
    const absolute: bigint[] = new Array(n);
    let base = -1n;
    for (let i = 0; i < n; i++) {
      const ip = ipTableAddress + BigInt(4 * i + ipTable.readInt32LE(4 * i));
      absolute[i] = ip;
      if (base < 0n || ip < base) base = ip;
    }
    const offsets = new Float64Array(n);
    for (let i = 0; i < n; i++) offsets[i] = Number(absolute[i]! - base);
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    // Stable sort by ip: at equal ips the table's own order (weak terminators first) is kept,
    // and lookups take the rightmost entry, as the kernel does.
    const sorted = Array.from(order).sort((a, b) => offsets[a]! - offsets[b]! || a - b);
    const sortedOffsets = Float64Array.from(sorted, (i) => offsets[i]!);
    return new OrcTable(base < 0n ? 0n : base, sortedOffsets, entries, Uint32Array.from(sorted), format);
  }

  /** The entry covering a link-time address: the rightmost one whose ip <= address. */
  find(address: bigint): OrcEntry | undefined {
    if (address < this.base) return undefined;
    const delta = address - this.base;
    if (delta > 0xffffffffffffn) return undefined;
    const target = Number(delta);
    let lo = 0;
    let hi = this.ipOffsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ipOffsets[mid]! <= target) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return undefined;
    return this.entryAt(lo - 1);
  }

  /** The i-th entry in ip order. */
  entryAt(sortedIndex: number): OrcEntry {
    const raw = this.order[sortedIndex]!;
    const o = raw * 6;
    return {
      ip: this.base + BigInt(this.ipOffsets[sortedIndex]!),
      spOffset: this.entries.readInt16LE(o),
      bpOffset: this.entries.readInt16LE(o + 2),
      ...decodeOrcFlags(this.entries.readUInt16LE(o + 4), this.format),
    };
  }
}
