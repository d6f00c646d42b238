import type { UnwindResult, UnwoundFrame } from './orc-unwinder.js';

export interface FramePointerDeps {
  readU64(address: bigint): Promise<bigint>;
  /** At most this many frames (default 64). */
  maxFrames?: number;
  /**
   * The stack the walk must stay on, [low, high). Default: the 64 KiB above the start sp
   * (kernel stacks are 16 KiB; a frame pointer outside that is garbage, not a caller).
   */
  stack?: { low: bigint; high: bigint };
  /** Whether a return address can be code (a kernel: isKernelAddress); default any. */
  isCode?: (address: bigint) => boolean;
}

const DEFAULT_STACK_SPAN = 0x10000n;
const hex = (v: bigint): string => `0x${v.toString(16)}`;

/**
 * The rbp chain, for code without ORC (kernels built with CONFIG_UNWINDER_FRAME_POINTER, or
 * the fallback when ORC fails): each frame holds [saved rbp][return address] at rbp. Every
 * frame it finds is marked unreliable (a function that does not set up rbp is skipped
 * silently). Stops at a zero rbp or return address (end-of-stack), at an rbp outside the
 * stack, misaligned or not above the previous one, at a return address that cannot be code
 * (`isCode`: a garbage chain; error, the frame not shown), or on a failed read (error,
 * keeping the frames found so far). Frames after the first carry return addresses: symbolize pc-1.
 */
export async function unwindFramePointers(
  start: { ip: bigint; sp: bigint; bp: bigint },
  deps: FramePointerDeps | FramePointerDeps['readU64'],
  maxFrames?: number,
): Promise<UnwindResult> {
  const d: FramePointerDeps = typeof deps === 'function' ? { readU64: deps, maxFrames } : deps;
  const limit = Math.max(1, d.maxFrames ?? 64);
  const stack = d.stack ?? { low: start.sp, high: start.sp + DEFAULT_STACK_SPAN };
  const frames: UnwoundFrame[] = [{ pc: start.ip, sp: start.sp, kind: 'initial', reliable: true }];
  let bp = start.bp;
  let prevBp = -1n;
  try {
    while (frames.length < limit) {
      if (bp === 0n) return { frames, end: { reason: 'end-of-stack' } };
      if ((bp & 7n) !== 0n) return { frames, end: { reason: 'error', detail: `frame pointer ${hex(bp)} is not 8-byte aligned` } };
      if (bp < stack.low || bp + 16n > stack.high) {
        return { frames, end: { reason: 'error', detail: `frame pointer ${hex(bp)} is outside the stack [${hex(stack.low)}, ${hex(stack.high)})` } };
      }
      if (bp <= prevBp) return { frames, end: { reason: 'error', detail: `frame pointer went down or repeated at ${hex(bp)} (a loop?)` } };
      const nextBp = await d.readU64(bp);
      const ret = await d.readU64(bp + 8n);
      if (ret === 0n) return { frames, end: { reason: 'end-of-stack' } };
      if (d.isCode && !d.isCode(ret)) return { frames, end: { reason: 'error', detail: `return address ${hex(ret)} at ${hex(bp + 8n)} cannot be code (a corrupt frame chain)` } };
      frames.push({ pc: ret, sp: bp + 16n, cfa: bp + 16n, kind: 'call', reliable: false });
      prevBp = bp;
      bp = nextBp;
    }
    return { frames, end: { reason: 'limit', detail: `stopped after ${limit} frames` } };
  } catch (err) {
    return { frames, end: { reason: 'error', detail: `memory read failed: ${(err as Error).message}` } };
  }
}
