import { FormatError } from '../../errors.js';
import type { ElfFile } from '../elf/elf-file.js';
import { decodeOrcFlags, isWeakTerminator, orcFormatFromHeader, orcFormatForVersion, type OrcEntry, type OrcFormat } from './orc-entry.js';

export interface OrcTableOptions {
  /** Force a layout (tests, or a caller that knows better). */
  format?: OrcFormat;
  /**
   * The kernel release ("6.1.0-56-cloud-amd64", from linux_banner or vmcoreinfo), used when the
   * file has no `.orc_header`: 6.3.0-6.3.9 use the v2 layout without one. Absent: v1.
   */
  kernelRelease?: string;
}

/**
 * The kernel's ORC unwind tables (`.orc_unwind_ip` + `.orc_unwind`): one 6-byte entry per
 * code range, found by binary search over a Float64Array of IPs relative to the lowest one
 * (exact: the kernel image spans far less than 2^53 bytes).
 *
 * Addresses given to find() are link-time addresses unless a KASLR slide is passed.
 */
export class OrcTable {
  private constructor(
    /** The lowest link-time ip in the table. */
    readonly base: bigint,
    private readonly ipOffsets: Float64Array,
    private readonly entries: Buffer,
    /** sorted position -> raw entry index in `entries`. */
    private readonly order: Uint32Array,
    readonly format: OrcFormat,
  ) {}

  /** Number of entries (= .orc_unwind_ip size / 4). */
  get length(): number {
    return this.order.length;
  }

  static async fromElf(elf: ElfFile, options: OrcTableOptions | OrcFormat = {}): Promise<OrcTable> {
    const opts: OrcTableOptions = typeof options === 'string' ? { format: options } : options;
    const ipSec = elf.section('.orc_unwind_ip');
    const orcSec = elf.section('.orc_unwind');
    if (!ipSec || !orcSec) throw new FormatError(elf.path, 0, 'no ORC tables (.orc_unwind_ip/.orc_unwind): a kernel built without CONFIG_UNWINDER_ORC?');
    if (ipSec.size % 4 !== 0) throw new FormatError(elf.path, ipSec.offset, `.orc_unwind_ip is ${ipSec.size} bytes, not a multiple of 4`);
    const n = ipSec.size / 4;
    if (orcSec.size !== n * 6) {
      throw new FormatError(elf.path, orcSec.offset, `.orc_unwind is ${orcSec.size} bytes, expected 6 per .orc_unwind_ip entry (${n} entries: ${n * 6} bytes)`);
    }
    let format = opts.format;
    if (!format) {
      const header = elf.section('.orc_header');
      if (header) {
        const bytes = await elf.readSection(header);
        format = orcFormatFromHeader(bytes);
        if (!format) throw new FormatError(elf.path, header.offset, `unrecognized .orc_header (${bytes.toString('hex')}): an ORC layout newer than 6.4?`);
      } else {
        format = opts.kernelRelease ? orcFormatForVersion(opts.kernelRelease) : 'v1';
      }
    }
    const ips = await elf.readSection(ipSec);
    const entries = await elf.readSection(orcSec);
    const table = OrcTable.fromBuffers(ipSec.addr, ips, entries, format);
    // The table keeps what it needs (the entries buffer); the ElfFile need not cache the ip table.
    elf.forgetSection(ipSec);
    return table;
  }

  /**
   * `ipTable` holds self-relative s32s: entry i covers from `ipTableAddress + 4*i + ip_rel[i]`
   * up to the next entry's ip. `entries` holds the parallel 6-byte `struct orc_entry`s.
   */
  static fromBuffers(ipTableAddress: bigint, ipTable: Buffer, entries: Buffer, format: OrcFormat = 'v1'): OrcTable {
    if (ipTable.length % 4 !== 0 || entries.length !== (ipTable.length / 4) * 6) {
      throw new FormatError('.orc_unwind', 0, `the ORC tables disagree: ${ipTable.length} bytes of ips, ${entries.length} bytes of entries (6 per 4-byte ip)`);
    }
    const n = ipTable.length / 4;
    // Self-relative offsets are s32 from a 64-bit address: compute relative to the table's
    // own address in plain numbers (exact, |delta| < 2^34), then rebase on the minimum.
    const rel = new Float64Array(n);
    let min = Infinity;
    for (let i = 0; i < n; i++) {
      const r = 4 * i + ipTable.readInt32LE(4 * i);
      rel[i] = r;
      if (r < min) min = r;
    }
    if (n === 0) min = 0;
    const terminator = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      rel[i] = rel[i]! - min;
      terminator[i] = isWeakTerminator(entries.readUInt16LE(i * 6 + 4), format) ? 1 : 0;
    }
    // Sort by ip; at equal ips the weak terminator first (as scripts/sorttable and the kernel's
    // orc_sort_cmp do), then table order; lookups take the rightmost entry with ip <= target.
    const idx = new Uint32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) {
      if (rel[i - 1]! > rel[i]! || (rel[i - 1] === rel[i] && terminator[i]! > terminator[i - 1]!)) sorted = false;
    }
    if (!sorted) idx.sort((a, b) => rel[a]! - rel[b]! || terminator[b]! - terminator[a]! || a - b);
    const sortedOffsets = new Float64Array(n);
    for (let i = 0; i < n; i++) sortedOffsets[i] = rel[idx[i]!]!;
    return new OrcTable(ipTableAddress + BigInt(min), sortedOffsets, entries, idx, format);
  }

  /**
   * The entry covering an address: the rightmost one whose ip <= address (after subtracting
   * `slide`, the KASLR offset, from a run-time address). Undefined below the first entry.
   * Addresses past the last entry fall into it (the last entry is a terminator in practice).
   */
  find(address: bigint, slide = 0n): OrcEntry | undefined {
    const i = this.indexOf(address - slide);
    return i < 0 ? undefined : this.entryAt(i);
  }

  /** Sorted position of the entry covering a link-time address, or -1. */
  indexOf(address: bigint): number {
    if (address < this.base) return -1;
    const delta = address - this.base;
    if (delta > 0xffffffffffffn) return this.ipOffsets.length - 1;
    const target = Number(delta);
    let lo = 0;
    let hi = this.ipOffsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ipOffsets[mid]! <= target) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** The i-th entry in ip order. */
  entryAt(sortedIndex: number): OrcEntry {
    if (sortedIndex < 0 || sortedIndex >= this.order.length) throw new RangeError(`ORC entry ${sortedIndex} out of range (${this.order.length})`);
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
