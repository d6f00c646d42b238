import type { Arch } from '../arch.js';
import { ARGUMENT_REGISTERS } from './calling-convention.js';
import { DWARF_REGISTER_NAMES } from './dwarf-registers.js';
import { decodeEmulatedInstruction } from './entry-instruction.js';
import { decodeInstruction } from './instruction-decoder.js';
import { X86_64_FRAME_SETUP } from './frame-setup.js';

/** Registers gdb's amd64 target description gives 32 bits. */
const INT32_REGISTERS = new Set(['eflags', 'cs', 'ss', 'ds', 'es', 'fs', 'gs', 'fop', 'mxcsr']);

/** x86-64 (System V psABI, the kernel's calling convention). */
export const X86_64: Arch = {
  name: 'x86_64',
  pc: 'rip',
  sp: 'rsp',
  fp: 'rbp',
  dwarfRegisterNames: DWARF_REGISTER_NAMES,
  dwarfPc: 16,
  dwarfSp: 7,
  registerAliases: { pc: 'rip', sp: 'rsp', fp: 'rbp', ps: 'eflags' },
  registerKind: (name) => (name === 'rip' ? 'code-pointer' : name === 'rsp' || name === 'rbp' ? 'data-pointer' : name === 'eflags' ? 'flags' : INT32_REGISTERS.has(name) ? 'int32' : 'long'),
  infoRegisters: ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'eflags', 'cs', 'ss', 'ds', 'es', 'fs', 'gs', 'fs_base', 'gs_base', 'k_gs_base', 'cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer'],
  argumentRegisters: ARGUMENT_REGISTERS,
  returnRegister: 'rax',
  decodeCall(code, pc) {
    const insn = decodeInstruction(code, pc);
    return insn?.isCall ? insn : undefined;
  },
  decodeEmulated: decodeEmulatedInstruction,
  frameSetupLength: X86_64_FRAME_SETUP,
  perCpuRegisters: (regs) => ({ gs_base: regs.get('gs_base'), k_gs_base: regs.get('k_gs_base'), cs: regs.get('cs') }),
};
