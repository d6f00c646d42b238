import { nopLength } from './nop-instructions.js';

/** General registers by their x86 encoding number, as gdb names them. */
const REGISTERS = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;

/**
 * An instruction under a breakpoint whose effect the debugger can apply itself, so that going on
 * from the breakpoint needs no single step: QEMU throws away its translated code at every step
 * stop, and kgdb needs a round trip per packet of a step-over.
 */
export type EmulatedInstruction =
  | { length: number; effect: 'none' }
  | { length: number; effect: 'push'; register: string }
  | { length: number; effect: 'move'; from: string; to: string; bits: 32 | 64 };

/**
 * Decodes the instructions that start kernel functions and change nothing but registers and the
 * stack: NOPs and endbr64 (ftrace, IBT), `push %reg`, `mov %reg,%reg`. Anything else (flags, memory
 * through a register, control flow) is undefined: those are stepped.
 */
export function decodeEmulatedInstruction(code: Buffer): EmulatedInstruction | undefined {
  const nop = nopLength(code);
  if (nop !== undefined) return { length: nop, effect: 'none' };
  let i = 0;
  let rex = 0;
  if (code[0] !== undefined && (code[0] & 0xf0) === 0x40) {
    rex = code[0];
    i = 1;
  }
  const op = code[i];
  if (op === undefined) return undefined;
  if (op >= 0x50 && op <= 0x57) {
    // push r64: REX.B picks r8-r15; REX.W changes nothing (push is 64-bit in long mode).
    return { length: i + 1, effect: 'push', register: REGISTERS[((rex & 1) << 3) | (op & 7)]! };
  }
  if (op === 0x89 || op === 0x8b) {
    const modrm = code[i + 1];
    if (modrm === undefined || modrm >> 6 !== 3) return undefined; // only register to register
    const reg = REGISTERS[(((rex >> 2) & 1) << 3) | ((modrm >> 3) & 7)]!;
    const rm = REGISTERS[((rex & 1) << 3) | (modrm & 7)]!;
    const [from, to] = op === 0x89 ? [reg, rm] : [rm, reg];
    return { length: i + 2, effect: 'move', from, to, bits: rex & 8 ? 64 : 32 };
  }
  return undefined;
}
