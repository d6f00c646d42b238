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

/** Frame types, normalised across the on-disk versions (≤6.3 stores CALL 0, REGS 1, REGS_PARTIAL 2). */
export type OrcType = 'call' | 'regs' | 'regs-partial' | 'end-of-stack' | 'undefined';

export interface OrcEntry {
  /** Link-time address of the first instruction this entry covers. */
  ip: bigint;
  spOffset: number;
  bpOffset: number;
  spReg: number;
  bpReg: number;
  type: OrcType;
  /** ≤6.2: the `end` bit (with spReg UNDEFINED: a normal end of the stack). */
  end: boolean;
  signal: boolean;
}

/** The layouts of the 16-bit flags word by kernel generation (LINUX-INTERNALS.md §1.1). */
export type OrcFormat = 'v1' | 'v2' | 'v3';

export function decodeOrcFlags(flags: number, format: OrcFormat): Pick<OrcEntry, 'spReg' | 'bpReg' | 'type' | 'end' | 'signal'> {
  const spReg = flags & 0xf;
  const bpReg = (flags >> 4) & 0xf;
  if (format === 'v3') {
    const t = (flags >> 8) & 7;
    const type: OrcType = (['undefined', 'end-of-stack', 'call', 'regs', 'regs-partial'] as const)[t] ?? 'undefined';
    return { spReg, bpReg, type, end: type === 'end-of-stack', signal: ((flags >> 11) & 1) === 1 };
  }
  const t = (flags >> 8) & 3;
  const type: OrcType = (['call', 'regs', 'regs-partial'] as const)[t] ?? 'undefined';
  if (format === 'v2') return { spReg, bpReg, type, signal: ((flags >> 10) & 1) === 1, end: ((flags >> 11) & 1) === 1 };
  return { spReg, bpReg, type, end: ((flags >> 10) & 1) === 1, signal: type !== 'call' };
}
