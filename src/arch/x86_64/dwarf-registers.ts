/** DWARF register numbers of x86-64 (System V psABI, figure 3.36) to gdb register names. */
export const DWARF_REGISTER_NAMES: readonly string[] = [
  'rax', 'rdx', 'rcx', 'rbx', 'rsi', 'rdi', 'rbp', 'rsp',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip',
];
