import type { DecodedInstruction } from './x86_64/instruction-decoder.js';
import type { EmulatedInstruction } from './x86_64/entry-instruction.js';

/**
 * What differs between instruction sets, as the debugger core needs it. The session, its services
 * and the front ends name registers only through this (x86-64 today; aarch64 and riscv64 next).
 */
export interface Arch {
  readonly name: 'x86_64';
  /** Register names as the stub and the user spell them. */
  readonly pc: string;
  readonly sp: string;
  readonly fp: string;
  /** DWARF register numbers to names (index = DWARF number). */
  readonly dwarfRegisterNames: readonly string[];
  readonly dwarfPc: number;
  readonly dwarfSp: number;
  /** gdb's generic names for registers in expressions (`$pc`, `$sp`, `$fp`, `$ps`). */
  readonly registerAliases: Readonly<Record<string, string>>;
  /** How gdb types a register in an expression: code or data pointer, flags, 32- or 64-bit integer. */
  registerKind(name: string): 'code-pointer' | 'data-pointer' | 'flags' | 'int32' | 'long';
  /** What `info registers` lists, in gdb's order. */
  readonly infoRegisters: readonly string[];
  /** Integer arguments at a function's first instruction, in order. */
  readonly argumentRegisters: readonly string[];
  /** Where an integer or pointer return value is. */
  readonly returnRegister: string;
  /** The instruction at `pc` when it is a call: its length (where the call returns to). */
  decodeCall(code: Buffer, pc: bigint): DecodedInstruction | undefined;
  /** An instruction the debugger can apply itself when going on from a breakpoint on it (no single step). */
  decodeEmulated(code: Buffer): EmulatedInstruction | undefined;
  /** The length of a function's frame set-up at its entry (where gdb breaks past it), or undefined. */
  frameSetupLength(code: Buffer): number | undefined;
  /** The registers `current` and the per-CPU base are found from (GS base while in the kernel, and the CPL). */
  perCpuRegisters(regs: { get(name: string): bigint | undefined }): { gs_base?: bigint; k_gs_base?: bigint; cs?: bigint };
}

/** DWARF register numbers to values, from a register file read from the stub. */
export function dwarfRegisters(arch: Arch, regs: { get(name: string): bigint | undefined }): Map<number, bigint> {
  const out = new Map<number, bigint>();
  arch.dwarfRegisterNames.forEach((name, regno) => {
    const v = regs.get(name);
    if (v !== undefined) out.set(regno, v);
  });
  return out;
}
