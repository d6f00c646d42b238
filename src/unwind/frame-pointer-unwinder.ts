import type { UnwindResult, UnwoundFrame } from './orc-unwinder.js';

/**
 * The rbp chain, for kernels built with frame pointers and no ORC: each frame holds
 * [saved rbp][return address] at rbp. Stops at a zero or non-increasing rbp.
 */
export async function unwindFramePointers(
  start: { ip: bigint; sp: bigint; bp: bigint },
  readU64: (address: bigint) => Promise<bigint>,
  maxFrames = 64,
): Promise<UnwindResult> {
  const frames: UnwoundFrame[] = [{ pc: start.ip, sp: start.sp, kind: 'initial', reliable: true }];
  let bp = start.bp;
  try {
    while (frames.length < maxFrames) {
      if (bp === 0n) return { frames, end: { reason: 'end-of-stack' } };
      const nextBp = await readU64(bp);
      const ret = await readU64(bp + 8n);
      if (ret === 0n) return { frames, end: { reason: 'end-of-stack' } };
      frames.push({ pc: ret, sp: bp + 16n, cfa: bp + 16n, kind: 'call', reliable: false });
      if (nextBp !== 0n && nextBp <= bp) return { frames, end: { reason: 'error', detail: `frame pointer went down at 0x${bp.toString(16)}` } };
      bp = nextBp;
    }
    return { frames, end: { reason: 'limit', detail: `stopped after ${maxFrames} frames` } };
  } catch (err) {
    return { frames, end: { reason: 'error', detail: `memory read failed: ${(err as Error).message}` } };
  }
}
