/**
 * Builds the kernel's ORC unwind tables for the fast tests: `.orc_unwind_ip` (self-relative s32
 * ips) and `.orc_unwind` (6-byte entries: sp_offset s16, bp_offset s16, flags u16), in the three
 * flag layouts (arch/x86/include/asm/orc_types.h: v1 up to 6.2, v2 in 6.3, v3 from 6.4), and the
 * `.orc_header` hash that names v2 and v3.
 */
import type { TinySection } from './tiny-elf-writer.js';

export type OrcFormat = 'v1' | 'v2' | 'v3';
export type OrcRowType = 'call' | 'regs' | 'regs-partial' | 'end-of-stack' | 'undefined';

export interface OrcRow {
  ip: bigint;
  spReg?: number;
  spOffset?: number;
  bpReg?: number;
  bpOffset?: number;
  type?: OrcRowType;
  /** v2/v3: the signal bit. */
  signal?: boolean;
  /** The raw flags word instead of spReg/bpReg/type/signal. */
  flags?: number;
}

/** scripts/orc_hash.sh of the orc_types.h that introduced each layout (as drgn lists them). */
export const ORC_HEADER: Record<'v2' | 'v3', Buffer> = {
  v2: Buffer.from('db84aed4103b31dd51e017f8f79783ca985c2c51', 'hex'),
  v3: Buffer.from('fe5d32bf581bd63b2ca9a5c65ba5a625eab3fe24', 'hex'),
};

/** The flags word of a row in a layout. */
export function orcFlags(row: OrcRow, format: OrcFormat): number {
  if (row.flags !== undefined) return row.flags;
  const type = row.type ?? 'call';
  const bp = (row.bpReg ?? 0) << 4;
  if (format === 'v3') {
    const code = ['undefined', 'end-of-stack', 'call', 'regs', 'regs-partial'].indexOf(type);
    return (row.spReg ?? 0) | bp | (code << 8) | ((row.signal ? 1 : 0) << 11);
  }
  // v1/v2: the ends are sp_reg UNDEFINED, with the end bit for a real end of stack.
  const ended = type === 'end-of-stack' || type === 'undefined';
  const sp = ended ? 0 : row.spReg ?? 0;
  const code = ended ? 0 : ['call', 'regs', 'regs-partial'].indexOf(type);
  const endBit = type === 'end-of-stack' ? 1 << (format === 'v2' ? 11 : 10) : 0;
  const signal = format === 'v2' && row.signal ? 1 << 10 : 0;
  return sp | bp | (code << 8) | endBit | signal;
}

/** The two tables for rows in the given (possibly unsorted) order, the ip table at `ipTableAddress`. */
export function writeOrcTables(rows: OrcRow[], ipTableAddress: bigint, format: OrcFormat = 'v1'): { ips: Buffer; entries: Buffer } {
  const ips = Buffer.alloc(rows.length * 4);
  const entries = Buffer.alloc(rows.length * 6);
  rows.forEach((r, i) => {
    ips.writeInt32LE(Number(r.ip - (ipTableAddress + BigInt(4 * i))), 4 * i);
    entries.writeInt16LE(r.spOffset ?? 0, 6 * i);
    entries.writeInt16LE(r.bpOffset ?? 0, 6 * i + 2);
    entries.writeUInt16LE(orcFlags(r, format), 6 * i + 4);
  });
  return { ips, entries };
}

/** The ORC sections of a vmlinux, for writeTinyElf: the ip table allocated at `ipTableAddress`. */
export function orcSections(rows: OrcRow[], ipTableAddress: bigint, format: OrcFormat, withHeader = format !== 'v1'): TinySection[] {
  const { ips, entries } = writeOrcTables(rows, ipTableAddress, format);
  const out: TinySection[] = [
    { name: '.orc_unwind_ip', data: ips, addr: ipTableAddress, flags: 2n },
    { name: '.orc_unwind', data: entries, addr: ipTableAddress + 0x100000n, flags: 2n },
  ];
  if (withHeader && format !== 'v1') out.push({ name: '.orc_header', data: ORC_HEADER[format], addr: ipTableAddress - 0x1000n, flags: 2n });
  return out;
}
