import type { ExpressionContext } from '../symbols/dwarf/location-expression.js';
import type { Expr } from './c-expression-parser.js';
import type { CValue } from './c-value.js';

/** What evaluation needs from the debugger at one stop and frame. */
export interface ExpressionScope {
  readMemory(address: bigint, length: number): Promise<Buffer>;
  /** A register of the frame by gdb's name (`rip`, `rsp`, `eflags`, `gs_base`...). */
  readRegister(name: string): bigint | undefined;
  /** The frame: its run-time lookup pc (pc-1 for callers) and what DWARF locations may read. */
  frame?: { lookupPc: bigint; context: ExpressionContext };
  /** Kernel names that are macros to the compiler (`current`): a value, or undefined. */
  identifier?(name: string): Promise<{ value: bigint; type: string } | undefined>;
  /** Functions such as `$percpu(var, cpu)` (NAME as written, `$` included): an lvalue address and its type. */
  call?(name: string, args: CValue[], argExprs: Expr[]): Promise<CValue | undefined>;
}

export interface EngineSymbols {
  /** `name` or `name+off` when the address is inside a symbol (run-time addresses). */
  symbolAt(address: bigint): string | undefined;
  /** The run-time address of an ELF symbol. */
  addressOf(name: string): bigint | undefined;
  /** The KASLR slide now. */
  slide(): bigint;
  /** Whether a link-time address is a per-CPU offset (not slid). */
  isPerCpu(linkAddress: bigint): boolean;
}
