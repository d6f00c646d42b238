import type { RegisterDescription } from '../target.js';
import { fixedLayout } from '../gdb-remote/target-description.js';

/**
 * x86_THREAD_STATE64 as KDP's READREGS returns it (xnu's kdp_machdep.c): 21 little-endian u64,
 * rdi before rsi (unlike gdb's order), rflags as a full u64 (named eflags, as gdb and the rest of
 * kdive call it), then cs, fs, gs. 168 bytes.
 */
export const X86_THREAD_STATE64_LAYOUT: RegisterDescription[] = fixedLayout(
  [
    'rax', 'rbx', 'rcx', 'rdx', 'rdi', 'rsi', 'rbp', 'rsp',
    'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
    'rip', 'eflags', 'cs', 'fs', 'gs',
  ].map((name): [string, number] => [name, 8]),
);

export const X86_THREAD_STATE64_SIZE = 168;

/** The trap flag: set in rflags before RESUMECPUS, the CPU runs one instruction and traps. */
export const RFLAGS_TF = 0x100n;
