/**
 * What front ends (REPL, DAP, library users) get back from `Session.evaluate`: gdb's rendering of
 * the value plus enough to expand it lazily (struct members, array elements, a pointer's target).
 * The expression engine in this folder produces these; front ends never look at DWARF.
 */
export interface EvaluatedValue {
  /** The value as gdb's `print` shows it: `0xffff888003e91000`, `"/tmp/test"`, `{pid = 1, ...}`. */
  text: string;
  /** The type as gdb's `whatis` names it: `struct filename *`, `int`, `char [16]`. */
  type: string;
  /** Where the value lives in guest memory, when it is an lvalue in memory. */
  address?: bigint;
  /** The raw integer value for scalars (pointers, integers, enums, bools, chars). */
  scalar?: bigint;
  /** True when children() has something to show (structs, unions, arrays, pointers to those). */
  hasChildren: boolean;
  /** Members, elements or the pointed-to object, read on demand. */
  children(): Promise<NamedValue[]>;
}

export interface NamedValue {
  name: string;
  value: EvaluatedValue;
}
