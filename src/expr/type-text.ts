import type { TypeSpec } from './c-expression-parser.js';
import { strip, typeToString, type CType } from './c-types.js';

/** The type a pointer or array finally points to (gdb's ptype shows that one's body). */
export function baseOf(t: CType): CType {
  let s = strip(t);
  while (s.kind === 'pointer' || s.kind === 'array') s = strip(s.kind === 'pointer' ? s.target : s.element);
  return s;
}

/** A member declaration as ptype prints it: `struct list_head *next`, `char comm[16]`. */
export function memberDecl(type: CType, name: string): string {
  const full = typeToString(type);
  const arr = /^(.*?)( ?)(\[.*\])$/.exec(full);
  if (arr) return `${arr[1]} ${name}${arr[3]}`;
  const fnp = /^(.*)\(\*\)(\(.*\))$/.exec(full);
  if (fnp) return `${fnp[1]}(*${name})${fnp[2]}`;
  if (!name) return full;
  return full.endsWith('*') ? `${full}${name}` : `${full} ${name}`;
}

/** `struct task_struct **` -> the base name and the number of `*`. */
export function parseTypeText(text: string): TypeSpec {
  const m = /^(.*?)\s*(\**)$/.exec(text.trim())!;
  return { base: m[1]!, pointers: m[2]!.length };
}
