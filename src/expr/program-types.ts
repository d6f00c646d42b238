import type { CType } from './c-types.js';

/**
 * What expressions, ptype and the kernel helpers need from a kernel's debug info, whichever
 * format it comes from: DWARF (dwarf-program-types.ts) or BTF (btf-program-types.ts).
 */
export interface ProgramTypes {
  /** Which format answers: the session says what BTF cannot give (lines, locals). */
  readonly format: 'dwarf' | 'btf';
  /** A type as C names it: `struct task_struct`, `pid_t`, `enum pid_type`; undefined if none. */
  findType(name: string): Promise<CType | undefined>;
  /** A global variable's type, and its link-time address when the debug info has one (else the symbol's). */
  globalVariable(name: string): Promise<{ type: CType; address?: bigint } | undefined>;
  /** A function's type (its prototype), for `p do_mkdirat` and typed arguments. */
  functionType(name: string): Promise<CType | undefined>;
}
