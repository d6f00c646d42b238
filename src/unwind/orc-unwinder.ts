import { OrcReg, type OrcEntry, type OrcTable } from '../symbols/orc/index.js';
import { PT_REGS, IRET_FRAME_OFFSET, type PtRegsField } from './pt-regs.js';

/** How a frame was reached: the stop itself, a return address, a full pt_regs, or an iret frame. */
export type UnwindKind = 'initial' | 'call' | 'regs' | 'regs-partial';

export interface UnwoundFrame {
  /**
   * Frame 0 and frames reached through a pt_regs/iret frame ('regs', 'regs-partial'): the exact
   * pc. Frames of kind 'call': a RETURN ADDRESS, the instruction after the call. Symbolize and
   * look up line info at pc-1 for those, or a call at the end of a function names the next one.
   */
  pc: bigint;
  /** The frame's stack pointer (for a 'call' frame: the CFA of its callee, just above the return address). */
  sp: bigint;
  /** The CFA computed by the step that produced this frame, i.e. the CFA of the frame before it. */
  cfa?: bigint;
  kind: UnwindKind;
  /** False once no ORC entry covered some code and the frame-pointer guess was used (sticky, as in the kernel). */
  reliable: boolean;
}

export interface UserState {
  /** pt_regs.ip / pt_regs.sp of user space. */
  ip: bigint;
  sp: bigint;
  /** pt_regs.orig_ax (absent for an iret-only frame). */
  origAx?: bigint;
  /** orig_ax when it is a syscall number (>= 0): the frame came from the syscall entry. */
  syscall?: bigint;
  /** cs == __USER32_CS: a 32-bit task. */
  compat?: boolean;
}

export interface UnwindEnd {
  /**
   * user: a user-mode pt_regs was reached (the normal end of a syscall or an interrupt from
   * user space); end-of-stack: an ORC end entry (kernel thread, boot stack, entry code before
   * pt_regs exists); error: bad ORC data, an unreadable stack, a loop; limit: maxFrames reached.
   */
  reason: 'user' | 'end-of-stack' | 'error' | 'limit';
  detail?: string;
  user?: UserState;
}

export interface UnwindResult {
  /** frames[0] is the start state; the frames found before an error are kept. */
  frames: UnwoundFrame[];
  end: UnwindEnd;
}

export type GeneralRegister =
  | 'rax' | 'rbx' | 'rcx' | 'rdx' | 'rsi' | 'rdi' | 'rbp' | 'rsp'
  | 'r8' | 'r9' | 'r10' | 'r11' | 'r12' | 'r13' | 'r14' | 'r15' | 'rip' | 'eflags' | 'cs' | 'ss';

export interface UnwindStart {
  /** Run-time (slid) addresses, as the target reports them. */
  ip: bigint;
  sp: bigint;
  bp: bigint;
  /**
   * The full live register set by gdb name (extra names are ignored), for DX/DI/R10/R13-based
   * CFAs in entry code. Without it such an entry ends the walk with an error, as in the kernel.
   * When `cs` is present and has RPL 3, the vCPU is in user mode and the walk ends at once.
   */
  regs?: Partial<Record<GeneralRegister, bigint>> | Record<string, bigint>;
}

/** Where the ORC entry for an address comes from: the vmlinux table, and module tables read from the kernel. */
export interface OrcSource {
  find(address: bigint, slide?: bigint): OrcEntry | undefined | Promise<OrcEntry | undefined>;
}

export interface UnwindDeps {
  orc: OrcTable | OrcSource;
  /** Reads 8 bytes little-endian at a run-time address; throws when unreadable. */
  readU64(address: bigint): Promise<bigint>;
  /** KASLR slide: run-time minus link-time address (ORC lookups subtract it). */
  slide?: bigint;
  /** At most this many frames (default 64); the walk then ends with reason 'limit'. */
  maxFrames?: number;
  /**
   * The bounds [low, high) of the stack holding `sp` (task, IRQ, exception stack), when the
   * caller knows them. Used for the loop guard; without it two stack pointers within 64 KiB
   * of each other count as one stack.
   */
  stackOf?(sp: bigint): { low: bigint; high: bigint } | undefined;
}

/** A register set: the live one, or a pt_regs in memory. */
interface Regs {
  get(field: PtRegsField): Promise<bigint>;
  /** For REGS_PARTIAL frames only the iret part (ip, cs, flags, sp, ss) is valid. */
  partial: boolean;
  live: boolean;
}

const ORC_REG_FIELD: Partial<Record<number, PtRegsField>> = {
  [OrcReg.DX]: 'rdx',
  [OrcReg.DI]: 'rdi',
  [OrcReg.R10]: 'r10',
  [OrcReg.R13]: 'r13',
};

/** Used where no ORC entry covers the ip (BPF JIT, trampolines): the kernel's orc_fp_entry. */
const FRAME_POINTER_GUESS: Omit<OrcEntry, 'ip'> = {
  spReg: OrcReg.BP, spOffset: 16, bpReg: OrcReg.PREV_SP, bpOffset: -16, type: 'call', end: false, signal: false,
};

/** Segment selectors (arch/x86/include/asm/segment.h). */
const USER_CS = 0x33n;
const USER32_CS = 0x23n;
const USER_DS = 0x2bn;
const SAME_STACK_WINDOW = 0x10000n;

const hex = (v: bigint): string => `0x${v.toString(16)}`;

/**
 * Walks a kernel stack with the ORC tables: the kernel's own unwind_next_frame()
 * (arch/x86/kernel/unwind_orc.c, 6.1 semantics, with the 6.3+ `signal` bit honoured), over
 * callbacks so it works on a live target, a core dump or a test's fake memory.
 * LINUX-INTERNALS.md §1.5 describes the step.
 *
 * Not done (the kernel does them): mapping return_to_handler / kretprobe trampolines back to
 * the real return address, and checking every read against the known stacks (pass `stackOf`
 * for the loop guard). SP_INDIRECT uses the ≥5.12 meaning (CFA = *sp + offset).
 */
export async function unwindOrc(start: UnwindStart, deps: UnwindDeps): Promise<UnwindResult> {
  const slide = deps.slide ?? 0n;
  const maxFrames = Math.max(1, deps.maxFrames ?? 64);
  // Stack arithmetic wraps at 64 bits as the CPU's does: a garbage sp plus an offset stays an address.
  const mem = (address: bigint) => deps.readU64(BigInt.asUintN(64, address));
  const frames: UnwoundFrame[] = [{ pc: start.ip, sp: start.sp, kind: 'initial', reliable: true }];
  const liveRegs = start.regs as Record<string, bigint> | undefined;
  const live: Regs | undefined = liveRegs
    ? {
        partial: false,
        live: true,
        get: async (f) => {
          const v = liveRegs[f] ?? (f === 'rip' ? start.ip : f === 'rsp' ? start.sp : f === 'rbp' ? start.bp : undefined);
          if (v === undefined) throw new MissingRegister(f);
          return v;
        },
      }
    : undefined;
  if (liveRegs?.cs !== undefined && (liveRegs.cs & 3n) !== 0n) {
    return { frames, end: { reason: 'user', detail: 'the CPU is in user mode', user: { ip: start.ip, sp: start.sp, compat: liveRegs.cs === USER32_CS } } };
  }
  let ip = start.ip;
  let sp = start.sp;
  let bp = start.bp;
  let regs: Regs | undefined = live;
  let fullRegs = live !== undefined;
  let prevRegs: Regs | undefined;
  let signal = true; // the stop pc is exact, not a return address
  let reliable = true;

  const fail = (detail: string): UnwindResult => ({ frames, end: { reason: 'error', detail } });
  try {
    while (frames.length < maxFrames) {
      if (regs && !regs.live && ((await regs.get('cs')) & 3n) !== 0n) return { frames, end: await userEnd(regs) };
      const found: OrcEntry | undefined = await deps.orc.find(signal ? ip : ip - 1n, slide);
      const orc: Omit<OrcEntry, 'ip'> = found ?? FRAME_POINTER_GUESS;
      if (!found) reliable = false;
      if (orc.type === 'end-of-stack') {
        return { frames, end: (await userRegsAt(sp, mem)) ?? { reason: 'end-of-stack' } };
      }
      if (orc.type === 'undefined' || orc.spReg === OrcReg.UNDEFINED) {
        return fail(`no ORC unwind information at ${hex(ip)} (an ORC terminator: unwinding stops here)`);
      }
      signal = orc.signal;
      let cfa: bigint;
      switch (orc.spReg) {
        case OrcReg.SP: cfa = sp + BigInt(orc.spOffset); break;
        case OrcReg.BP: cfa = bp + BigInt(orc.spOffset); break;
        case OrcReg.SP_INDIRECT: cfa = (await mem(sp)) + BigInt(orc.spOffset); break;
        case OrcReg.BP_INDIRECT: cfa = await mem(bp + BigInt(orc.spOffset)); break;
        default: {
          const field = ORC_REG_FIELD[orc.spReg];
          if (!field) return fail(`unknown ORC sp register ${orc.spReg} at ${hex(ip)}`);
          const r = fullRegs ? regs : prevRegs;
          if (!r) return fail(`ORC at ${hex(ip)} takes the CFA from ${field}, but no register frame is known there`);
          try {
            cfa = await r.get(field);
          } catch (err) {
            if (err instanceof MissingRegister) return fail(`ORC at ${hex(ip)} takes the CFA from ${field}, which the register set lacks`);
            throw err;
          }
        }
      }
      cfa = BigInt.asUintN(64, cfa);
      const oldSp = sp;
      const oldBp = bp;
      let kind: UnwindKind;
      if (orc.type === 'call') {
        ip = await mem(cfa - 8n);
        sp = cfa;
        regs = undefined;
        prevRegs = undefined;
        fullRegs = false;
        kind = 'call';
      } else if (orc.type === 'regs') {
        regs = ptRegsAt(cfa, mem, false);
        ip = await regs.get('rip');
        sp = await regs.get('rsp');
        fullRegs = true;
        prevRegs = undefined;
        kind = 'regs';
      } else {
        const iret = ptRegsAt(cfa - BigInt(IRET_FRAME_OFFSET), mem, true);
        ip = await iret.get('rip');
        sp = await iret.get('rsp');
        if (fullRegs) prevRegs = regs;
        regs = iret;
        fullRegs = false;
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
        default: return fail(`unsupported ORC bp register ${orc.bpReg} at ${hex(ip)}`);
      }
      // Stacks grow down: on one stack a caller's sp is above its callee's. A stack switch
      // (IRQ stack to task stack) may go either way. The kernel's check, unwind_orc.c.
      if (sameStack(deps, oldSp, sp) && sp <= oldSp) {
        return fail(`stack going in the wrong direction at ${hex(ip)}: sp ${hex(sp)} after ${hex(oldSp)} (a loop or bad ORC data?)`);
      }
      if (regs && ((await regs.get('cs')) & 3n) !== 0n) return { frames, end: await userEnd(regs) }; // the user boundary
      frames.push({ pc: ip, sp, cfa, kind, reliable });
    }
    return { frames, end: { reason: 'limit', detail: `stopped after ${maxFrames} frames` } };
  } catch (err) {
    return fail(`memory read failed: ${(err as Error).message}`);
  }
}

class MissingRegister extends Error {
  constructor(readonly field: string) {
    super(`register ${field} unknown`);
  }
}

function sameStack(deps: UnwindDeps, a: bigint, b: bigint): boolean {
  const s = deps.stackOf?.(a);
  if (s) return b >= s.low && b < s.high;
  return b - a < SAME_STACK_WINDOW && a - b < SAME_STACK_WINDOW;
}

async function userEnd(regs: Regs): Promise<UnwindEnd> {
  const cs = await regs.get('cs');
  const user: UserState = { ip: await regs.get('rip'), sp: await regs.get('rsp'), compat: cs === USER32_CS };
  if (!regs.partial) {
    user.origAx = await regs.get('orig_ax');
    if (BigInt.asIntN(64, user.origAx) >= 0n) user.syscall = user.origAx;
  }
  return { reason: 'user', user };
}

/**
 * At an end entry the kernel's reliability check expects the user pt_regs right at sp (the
 * bottom of a user task's stack); report user space from it when it looks like one.
 */
async function userRegsAt(sp: bigint, mem: (a: bigint) => Promise<bigint>): Promise<UnwindEnd | undefined> {
  try {
    const regs = ptRegsAt(sp, mem, false);
    const cs = await regs.get('cs');
    const ss = await regs.get('ss');
    if ((cs !== USER_CS && cs !== USER32_CS) || ss !== USER_DS) return undefined;
    return await userEnd(regs);
  } catch {
    return undefined;
  }
}

function ptRegsAt(address: bigint, mem: (a: bigint) => Promise<bigint>, partial: boolean): Regs {
  return {
    partial,
    live: false,
    get: (field) => mem(address + BigInt(PT_REGS[field])),
  };
}
