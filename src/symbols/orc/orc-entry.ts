/** ORC register bases (arch/x86/include/asm/orc_types.h; the same numbers in every version). */
export const OrcReg = {
  UNDEFINED: 0,
  PREV_SP: 1,
  DX: 2,
  DI: 3,
  BP: 4,
  SP: 5,
  R10: 6,
  R13: 7,
  BP_INDIRECT: 8,
  SP_INDIRECT: 9,
} as const;

/**
 * Frame types, normalised across the on-disk versions as drgn does: ≤6.3 stores CALL 0,
 * REGS 1, REGS_PARTIAL 2 and marks the ends with sp_reg UNDEFINED (+ `end` for a normal end);
 * here those become 'end-of-stack' (sp UNDEFINED, end=1) and 'undefined' (sp UNDEFINED, end=0),
 * the ≥6.4 names. `spReg` and `end` keep the raw values.
 */
export type OrcType = 'call' | 'regs' | 'regs-partial' | 'end-of-stack' | 'undefined';

export interface OrcEntry {
  /** Link-time address of the first instruction this entry covers. */
  ip: bigint;
  spOffset: number;
  bpOffset: number;
  spReg: number;
  bpReg: number;
  type: OrcType;
  /** ≤6.3: the raw `end` bit; ≥6.4: type === 'end-of-stack'. */
  end: boolean;
  /**
   * The next lookup uses the exact ip (not ip-1) after this frame. v1 has no bit: REGS and
   * REGS_PARTIAL imply it (the 6.1 unwinder sets signal per type); v2/v3 store it.
   */
  signal: boolean;
}

/** The layouts of the 16-bit flags word by kernel generation (LINUX-INTERNALS.md §1.1; drgn's orc.h). */
export type OrcFormat = 'v1' | 'v2' | 'v3';

export function decodeOrcFlags(flags: number, format: OrcFormat): Pick<OrcEntry, 'spReg' | 'bpReg' | 'type' | 'end' | 'signal'> {
  const spReg = flags & 0xf;
  const bpReg = (flags >> 4) & 0xf;
  if (format === 'v3') {
    const t = (flags >> 8) & 7;
    const type: OrcType = (['undefined', 'end-of-stack', 'call', 'regs', 'regs-partial'] as const)[t] ?? 'undefined';
    return { spReg, bpReg, type, end: type === 'end-of-stack', signal: ((flags >> 11) & 1) === 1 };
  }
  const end = ((flags >> (format === 'v2' ? 11 : 10)) & 1) === 1;
  const t = (flags >> 8) & 3;
  let type: OrcType = (['call', 'regs', 'regs-partial'] as const)[t] ?? 'undefined';
  if (spReg === OrcReg.UNDEFINED) type = end ? 'end-of-stack' : 'undefined';
  const signal = format === 'v2' ? ((flags >> 10) & 1) === 1 : type === 'regs' || type === 'regs-partial';
  return { spReg, bpReg, type, end, signal };
}

/** A weak terminator (gap marker): sorts first among entries at the same ip. */
export function isWeakTerminator(flags: number, format: OrcFormat): boolean {
  if (format === 'v3') return (flags & 0x700) === 0;
  if (format === 'v2') return (flags & 0x80f) === 0;
  return (flags & 0x40f) === 0;
}

/**
 * `.orc_header` (6.4+, backported to 6.3.10) is a 20-byte hash of orc_types.h
 * (scripts/orc_hash.sh). The known values, from drgn's libdrgn/orc_info.c.
 */
const ORC_HEADER_HASHES: Record<string, OrcFormat> = {
  fe5d32bf581bd63b2ca9a5c65ba5a625eab3fe24: 'v3', // fb799447ae29, v6.4
  db84aed4103b31dd51e017f8f79783ca985c2c51: 'v2', // ffb1b4a41016, v6.3
};

export function orcFormatFromHeader(header: Buffer): OrcFormat | undefined {
  return header.length === 20 ? ORC_HEADER_HASHES[header.toString('hex')] : undefined;
}

/** The layout for a kernel release when the file has no .orc_header: ≥6.4 v3, 6.3 v2, else v1. */
export function orcFormatForVersion(release: string): OrcFormat {
  const m = /^(\d+)\.(\d+)/.exec(release.replace(/^Linux version /, ''));
  if (!m) return 'v1';
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major > 6 || (major === 6 && minor >= 4)) return 'v3';
  if (major === 6 && minor === 3) return 'v2';
  return 'v1';
}
