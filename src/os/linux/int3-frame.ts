/**
 * The frame x86-64 Linux saves when kernel code traps on an int3 (entry_64.S, idtentry for
 * X86_TRAP_BP, 5.x and 6.x before FRED): the CPU pushes ss, rsp, rflags, cs, rip below the
 * interrupted rsp aligned down to 16 (A), the entry pushes orig_ax, then copies those six words
 * 48 bytes lower to leave a gap (for int3_emulate_call) and builds pt_regs on the copy. So the
 * rsp that iretq will load sits at A-64, the rip at A-88, and the stack just below the
 * interrupted rsp is the gap, free to write.
 *
 * kgdb acknowledges a write to sp and ignores it (dbg_set_reg), so a debugger applying the
 * `push %reg` under a breakpoint itself (instead of a single step, a second trap into kgdb)
 * writes the pushed value and the new rsp into this frame. Every word it relies on is checked
 * first; any mismatch (another entry layout, a user-mode trap) leaves memory untouched.
 */
export interface FrameMemory {
  read(address: bigint, length: number): Promise<Buffer>;
  write(address: bigint, data: Buffer): Promise<void>;
}

const KERNEL_CS = 0x10n;
const RIP_AT = 88n;
const SP_AT = 64n;

/**
 * Applies `push value` for a CPU stopped by the int3 at `breakpoint` with interrupted rsp `sp`:
 * [sp-8] = value and the saved rsp = sp-8. False (nothing written) when the frame is not where
 * and what this layout says.
 */
export async function pushIntoInt3Frame(mem: FrameMemory, at: { breakpoint: bigint; sp: bigint; value: bigint }): Promise<boolean> {
  const aligned = at.sp & ~0xfn;
  const from = aligned - RIP_AT;
  let frame: Buffer;
  try {
    frame = Buffer.from(await mem.read(from, Number(at.sp - from)));
  } catch {
    return false;
  }
  const word = (address: bigint) => frame.readBigUInt64LE(Number(address - from));
  const savedRip = word(from);
  const savedCs = word(from + 8n);
  const savedSp = word(aligned - SP_AT);
  if (savedRip !== at.breakpoint + 1n || savedCs !== KERNEL_CS || savedSp !== at.sp) return false;
  const newSp = at.sp - 8n;
  frame.writeBigUInt64LE(newSp, Number(aligned - SP_AT - from));
  frame.writeBigUInt64LE(BigInt.asUintN(64, at.value), Number(newSp - from));
  // One write from the saved rsp up to the interrupted rsp: saved ss (unchanged), the gap, the pushed word.
  await mem.write(aligned - SP_AT, frame.subarray(Number(aligned - SP_AT - from)));
  return true;
}
