import type { Arch } from '../arch/arch.js';
import type { RegisterValues } from '../target/target.js';
import { TargetError } from '../target/target-error.js';
import { isCanonicalAddress } from '../unwind/index.js';

/**
 * The pc of a stopped thread, when the stub's registers can be believed. A stub that left it out
 * (a short `g`, every `p` refused) or sent a value no CPU can hold (non-canonical) is refused in
 * one line: a stop or a frame at 0x0 or 0x4141… would present garbage as where the kernel is.
 */
export function believablePc(regs: RegisterValues, arch: Arch, threadId: string): bigint {
  const pc = regs.get(arch.pc);
  if (pc === undefined) throw new TargetError(`the stub did not report ${arch.pc} for thread ${threadId}: where it stopped is unknown`);
  if (!isCanonicalAddress(pc)) throw new TargetError(`the stub reported ${arch.pc} 0x${pc.toString(16)} for thread ${threadId}, not a canonical address: its registers cannot be believed`);
  return pc;
}
