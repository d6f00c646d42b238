import { OrcReg, type OrcEntry, type OrcTable } from '../symbols/orc/index.js';
import { PT_REGS, IRET_FRAME_OFFSET, type PtRegsField } from './pt-regs.js';

export type UnwindKind = 'initial' | 'call' | 'regs' | 'regs-partial';

export interface UnwoundFrame {
  /** Frame 0: the stop pc. Later frames reached by a call: a return address (symbolize pc-1). */
  pc: bigint;
  sp: bigint;
  cfa?: bigint;
  kind: UnwindKind;
  /** False when no ORC entry covered the code and the frame-pointer guess was used. */
  reliable: boolean;
}

export interface UnwindEnd {
  reason: 'user' | 'end-of-stack' | 'error' | 'limit';
  detail?: string;
  /** At a user-mode pt_regs: where user space was, and the syscall number when it was a syscall. */
  user?: { ip: bigint; sp: bigint; syscall?: bigint };
}

export interface UnwindResult {
  frames: UnwoundFrame[];
  end: UnwindEnd;
}

export interface UnwindStart {
  ip: bigint;
  sp: bigint;
  bp: bigint;
  /** The full live register set by gdb name (rax, rbx, ... r15, cs), for DX/DI/R10/R13-based CFAs. */
  regs?: Record<string, bigint>;
}

export interface UnwindDeps {
  orc: OrcTable;
  readU64(address: bigint): Promise<bigint>;
  /** KASLR slide: run-time minus link-time address. */
  slide?: bigint;
  maxFrames?: number;
}

/** A register set: the live one, or a pt_regs in memory. */
interface Regs {
  get(field: PtRegsField): Promise<bigint>;
  /** For REGS_PARTIAL frames only the iret part (ip, cs, flags, sp, ss) is valid. */
  partial: boolean;
}

const ORC_REG_FIELD: Partial<Record<number, PtRegsField>> = {
  [OrcReg.DX]: 'rdx',
  [OrcReg.DI]: 'rdi',
  [OrcReg.R10]: 'r10',
  [OrcReg.R13]: 'r13',
};

/** Used where no ORC entry covers the ip (BPF JIT, trampolines): assume a frame-pointer frame. */
const FRAME_POINTER_GUESS: Omit<OrcEntry, 'ip'> = {
  spReg: OrcReg.BP, spOffset: 16, bpReg: OrcReg.PREV_SP, bpOffset: -16, type: 'call', end: false, signal: false,
};

/**
 * Walks a kernel stack with the ORC tables, the kernel's own algorithm (arch/x86/kernel/unwind_orc.c,
 * 6.1 semantics), over callbacks so it works on a live target, a core dump or a test's fake memory.
 */
export async function unwindOrc(start: UnwindStart, deps: UnwindDeps): Promise<UnwindResult> {
  const slide = deps.slide ?? 0n;
  const maxFrames = deps.maxFrames ?? 64;
  const mem = deps.readU64;
  const live: Regs | undefined = start.regs
    ? { partial: false, get: async (f) => start.regs![f === 'eflags' ? 'eflags' : f] ?? (f === 'cs' ? 0x10n : 0n) }
    : undefined;
  const frames: UnwoundFrame[] = [{ pc: start.ip, sp: start.sp, kind: 'initial', reliable: true }];
  let ip = start.ip;
  let sp = start.sp;
  let bp = start.bp;
  let regs: Regs | undefined = live;
  let fullRegs = live !== undefined;
  let prevRegs: Regs | undefined;
  let signal = true; // the stop pc is exact, not a return address

  const fail = (detail: string): UnwindResult => ({ frames, end: { reason: 'error', detail } });
  try {
    while (frames.length < maxFrames) {
      if (regs && regs !== live && ((await regs.get('cs')) & 3n) !== 0n) {
        const origAx = regs.partial ? undefined : await regs.get('orig_ax');
        const syscall = origAx !== undefined && BigInt.asIntN(64, origAx) >= 0n ? origAx : undefined;
        return { frames, end: { reason: 'user', user: { ip: await regs.get('rip'), sp: await regs.get('rsp'), syscall } } };
      }
      const lookup = (signal ? ip : ip - 1n) - slide;
      const found = deps.orc.find(lookup);
      const orc = found ?? FRAME_POINTER_GUESS;
      const reliable = found !== undefined;
      if (orc.type === 'end-of-stack' || (orc.spReg === OrcReg.UNDEFINED && orc.end)) {
        return { frames, end: (await userRegsAt(sp, mem)) ?? { reason: 'end-of-stack' } };
      }
      if (orc.spReg === OrcReg.UNDEFINED || orc.type === 'undefined') {
        return fail(`no ORC unwind information at 0x${ip.toString(16)}`);
      }
      let cfa: bigint;
      switch (orc.spReg) {
        case OrcReg.SP: cfa = sp + BigInt(orc.spOffset); break;
        case OrcReg.BP: cfa = bp + BigInt(orc.spOffset); break;
        case OrcReg.SP_INDIRECT: cfa = (await mem(sp)) + BigInt(orc.spOffset); break;
        case OrcReg.BP_INDIRECT: cfa = await mem(bp + BigInt(orc.spOffset)); break;
        default: {
          const field = ORC_REG_FIELD[orc.spReg];
          const r = fullRegs ? regs : prevRegs;
          if (!field || !r) return fail(`ORC at 0x${ip.toString(16)} needs register ${orc.spReg} from a register frame that is not there`);
          cfa = await r.get(field);
        }
      }
      const oldSp = sp;
      const oldBp = bp;
      let kind: UnwindKind;
      if (orc.type === 'call') {
        ip = await mem(cfa - 8n);
        sp = cfa;
        regs = undefined;
        prevRegs = undefined;
        fullRegs = false;
        signal = false;
        kind = 'call';
      } else if (orc.type === 'regs') {
        regs = ptRegsAt(cfa, mem, false);
        ip = await regs.get('rip');
        sp = await regs.get('rsp');
        fullRegs = true;
        prevRegs = undefined;
        signal = true;
        kind = 'regs';
      } else {
        const iret = ptRegsAt(cfa - BigInt(IRET_FRAME_OFFSET), mem, true);
        ip = await iret.get('rip');
        sp = await iret.get('rsp');
        if (fullRegs) prevRegs = regs;
        regs = iret;
        fullRegs = false;
        signal = true;
        kind = 'regs-partial';
      }
      switch (orc.bpReg) {
        case OrcReg.UNDEFINED: {
          const r = fullRegs ? regs : prevRegs;
          if (r) bp = await r.get('rbp');
          break;
        }
        case OrcReg.PREV_SP: bp = await mem(cfa + BigInt(orc.bpOffset)); break;
        case OrcReg.BP: bp = await mem(oldBp + BigInt(orc.bpOffset)); break;
        default: return fail(`unsupported ORC bp register ${orc.bpReg} at 0x${ip.toString(16)}`);
      }
      // Stacks grow down, so a caller's sp is above its callee's on the same stack; a stack
      // switch (IRQ stack to task stack) moves far, and a pt_regs frame may repeat the sp.
      const sameStack = sp - oldSp < 0x10000n && oldSp - sp < 0x10000n;
      if (kind === 'call' && sameStack && sp <= oldSp) return fail(`stack pointer did not move up at 0x${ip.toString(16)} (a loop?)`);
      if (regs && ((await regs.get('cs')) & 3n) !== 0n) continue; // the user boundary: reported at the top of the loop
      frames.push({ pc: ip, sp, cfa, kind, reliable });
    }
    return { frames, end: { reason: 'limit', detail: `stopped after ${maxFrames} frames` } };
  } catch (err) {
    return fail(`memory read failed: ${(err as Error).message}`);
  }
}

/**
 * The syscall entry ends the ORC walk (an ENTRY hint) with the user pt_regs right at sp, as the
 * kernel's own reliability check expects; report user space from it when it looks like one.
 */
async function userRegsAt(sp: bigint, mem: (a: bigint) => Promise<bigint>): Promise<UnwindEnd | undefined> {
  try {
    const regs = ptRegsAt(sp, mem, false);
    const cs = await regs.get('cs');
    const ss = await regs.get('ss');
    if ((cs !== USER_CS && cs !== USER32_CS) || ss !== USER_DS) return undefined;
    const origAx = await regs.get('orig_ax');
    const syscall = BigInt.asIntN(64, origAx) >= 0n ? origAx : undefined;
    return { reason: 'user', user: { ip: await regs.get('rip'), sp: await regs.get('rsp'), syscall } };
  } catch {
    return undefined;
  }
}

/** Segment selectors (arch/x86/include/asm/segment.h). */
const USER_CS = 0x33n;
const USER32_CS = 0x23n;
const USER_DS = 0x2bn;

function ptRegsAt(address: bigint, mem: (a: bigint) => Promise<bigint>, partial: boolean): Regs {
  return {
    partial,
    get: (field) => mem(address + BigInt(PT_REGS[field])),
  };
}
