/** `struct pt_regs` on x86-64 (arch/x86/include/asm/ptrace.h): byte offsets, 168 bytes in all. */
export const PT_REGS = {
  r15: 0, r14: 8, r13: 16, r12: 24, rbp: 32, rbx: 40, r11: 48, r10: 56,
  r9: 64, r8: 72, rax: 80, rcx: 88, rdx: 96, rsi: 104, rdi: 112, orig_ax: 120,
  rip: 128, cs: 136, eflags: 144, rsp: 152, ss: 160,
} as const;

export type PtRegsField = keyof typeof PT_REGS;
export const PT_REGS_SIZE = 168;
/** A REGS_PARTIAL (iret frame) CFA points at pt_regs.ip. */
export const IRET_FRAME_OFFSET = 128;
