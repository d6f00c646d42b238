/** System V AMD64 (and the kernel's) integer argument registers, in order, at function entry. */
export const ARGUMENT_REGISTERS = ['rdi', 'rsi', 'rdx', 'rcx', 'r8', 'r9'] as const;

/** The registers the ORC unwinder and pt_regs frames can refer to. */
export const GENERAL_REGISTERS = [
  'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
] as const;

export type GeneralRegister = (typeof GENERAL_REGISTERS)[number];
