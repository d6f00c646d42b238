/**
 * The C type model expressions are evaluated over, built from DWARF (dwarf-type-builder.ts) or
 * synthesized (pointers taken with `&`, casts to `unsigned long`). Struct members are read on
 * demand: a kernel struct refers to half the kernel through its pointers.
 */
export type CType =
  | { kind: 'int'; name: string; size: number; signed: boolean; char: boolean; bool: boolean }
  | { kind: 'float'; name: string; size: number }
  | { kind: 'void' }
  | { kind: 'pointer'; target: CType }
  | { kind: 'array'; element: CType; count: number | undefined }
  | { kind: 'struct' | 'union'; name?: string; size: number; members(): Promise<CMember[]> }
  | { kind: 'enum'; name?: string; size: number; signed: boolean; values: { name: string; value: bigint }[] }
  | { kind: 'typedef'; name: string; target: CType }
  | { kind: 'func'; returns: CType; params: CType[]; variadic: boolean; prototyped: boolean }
  | { kind: 'qualified'; qualifier: 'const' | 'volatile'; target: CType };

export interface CMember {
  /** '' for an anonymous struct or union member. */
  name: string;
  type: CType;
  offset: number;
  bitSize?: number;
  /** Bits from the start of the byte at `offset` (little-endian numbering). */
  bitOffset?: number;
}

export const VOID: CType = { kind: 'void' };
export const INT: CType = { kind: 'int', name: 'int', size: 4, signed: true, char: false, bool: false };
export const UINT: CType = { kind: 'int', name: 'unsigned int', size: 4, signed: false, char: false, bool: false };
export const LONG: CType = { kind: 'int', name: 'long', size: 8, signed: true, char: false, bool: false };
export const ULONG: CType = { kind: 'int', name: 'unsigned long', size: 8, signed: false, char: false, bool: false };
export const CHAR: CType = { kind: 'int', name: 'char', size: 1, signed: true, char: true, bool: false };

/** C's own type names (as written in a cast), with the sizes of x86-64 Linux. */
export function builtinType(words: string): CType | undefined {
  const w = words.replace(/\bint\b/g, '').replace(/\s+/g, ' ').trim().split(' ').filter(Boolean).sort().join(' ');
  const table: Record<string, CType> = {
    '': INT,
    signed: INT,
    unsigned: UINT,
    char: CHAR,
    'char signed': { ...(CHAR as object), name: 'signed char' } as CType,
    'char unsigned': { kind: 'int', name: 'unsigned char', size: 1, signed: false, char: true, bool: false },
    short: { kind: 'int', name: 'short', size: 2, signed: true, char: false, bool: false },
    'short signed': { kind: 'int', name: 'short', size: 2, signed: true, char: false, bool: false },
    'short unsigned': { kind: 'int', name: 'unsigned short', size: 2, signed: false, char: false, bool: false },
    long: LONG,
    'long signed': LONG,
    'long unsigned': ULONG,
    'long long': { kind: 'int', name: 'long long', size: 8, signed: true, char: false, bool: false },
    'long long unsigned': { kind: 'int', name: 'unsigned long long', size: 8, signed: false, char: false, bool: false },
    _Bool: { kind: 'int', name: '_Bool', size: 1, signed: false, char: false, bool: true },
    bool: { kind: 'int', name: '_Bool', size: 1, signed: false, char: false, bool: true },
    void: VOID,
    float: { kind: 'float', name: 'float', size: 4 },
    double: { kind: 'float', name: 'double', size: 8 },
  };
  return table[w];
}

/** Through typedefs and qualifiers to the type with a shape. */
export function strip(t: CType): CType {
  let x = t;
  while (x.kind === 'typedef' || x.kind === 'qualified') x = x.target;
  return x;
}

export function sizeOf(t: CType): number {
  const s = strip(t);
  switch (s.kind) {
    case 'int':
    case 'float':
    case 'struct':
    case 'union':
    case 'enum':
      return s.size;
    case 'pointer':
      return 8;
    case 'array':
      return (s.count ?? 0) * sizeOf(s.element);
    case 'void':
    case 'func':
      return 1; // gdb's (and GCC's) sizeof(void) and sizeof of a function
    default:
      return 0;
  }
}

export function isScalar(t: CType): boolean {
  const s = strip(t);
  return s.kind === 'int' || s.kind === 'pointer' || s.kind === 'enum' || s.kind === 'float';
}

export function isSigned(t: CType): boolean {
  const s = strip(t);
  return (s.kind === 'int' && s.signed) || (s.kind === 'enum' && s.signed);
}

export function pointerTo(t: CType): CType {
  return { kind: 'pointer', target: t };
}

/** Whether a pointer's target or an array's element is a character type (printed as a string). */
export function isCharType(t: CType): boolean {
  const s = strip(t);
  return s.kind === 'int' && s.char && s.size === 1;
}

/** The type as gdb's whatis/ptype header spells it: `struct task_struct *`, `char [16]`, `void (*)(void)`. */
export function typeToString(t: CType): string {
  const { base, suffix } = declarator(t, '');
  return suffix ? `${base} ${suffix}`.replace(/ +$/, '') : base;
}

function declarator(t: CType, inner: string): { base: string; suffix: string } {
  switch (t.kind) {
    case 'int':
    case 'float':
      return { base: t.name, suffix: inner };
    case 'void':
      return { base: 'void', suffix: inner };
    case 'typedef':
      return { base: t.name, suffix: inner };
    case 'struct':
    case 'union':
      return { base: `${t.kind} ${t.name ?? '{...}'}`, suffix: inner };
    case 'enum':
      return { base: `enum ${t.name ?? '{...}'}`, suffix: inner };
    case 'pointer':
      return declarator(t.target, `*${inner}`);
    case 'qualified': {
      if (t.target.kind === 'pointer') return declarator(t.target, `${t.qualifier} ${inner}`.trim());
      // C qualifies an array through its elements: `const` on an array of `const char` is written once (gdb: `const char iname[]`).
      if (t.target.kind === 'array') {
        const e = t.target.element;
        const element: CType = e.kind === 'qualified' && e.qualifier === t.qualifier ? e : { kind: 'qualified', qualifier: t.qualifier, target: e };
        return declarator({ ...t.target, element }, inner);
      }
      const r = declarator(t.target, inner);
      return { base: `${t.qualifier} ${r.base}`, suffix: r.suffix };
    }
    case 'array': {
      const dims = `[${t.count ?? ''}]`;
      return declarator(t.element, inner.startsWith('*') ? `(${inner})${dims}` : `${inner}${dims}`);
    }
    case 'func': {
      const params = t.params.map(typeToString);
      if (t.variadic) params.push('...');
      const list = `(${params.length ? params.join(', ') : t.prototyped ? 'void' : ''})`;
      return declarator(t.returns, inner ? `(${inner})${list}` : list);
    }
  }
}
