import type { ElfSymbol, ElfSymbolBinding, ElfSymbolType } from '../elf/symbol-table.js';
import type { KallsymsSymbol } from './kallsyms-decoder.js';

/** The section index given to kallsyms symbols that are in the image. */
export const KALLSYMS_SECTION = 1;
/**
 * The section index that marks a per-CPU symbol (type A under ABSOLUTE_PERCPU): its address is an
 * offset into each CPU's area, not an address, and KASLR does not move it. SHN_LOPROC, which no
 * x86-64 symbol uses, so nothing else carries it.
 */
export const KALLSYMS_PERCPU_SECTION = 0xff00;
/** A symbol's size is the gap to the next one, capped as drgn does: past this it is padding or another region. */
const MAX_SIZE = 64 * 1024;
const MAX_SIZE_BIG = BigInt(MAX_SIZE);

export function isPerCpu(symbol: ElfSymbol): boolean {
  return symbol.sectionIndex === KALLSYMS_PERCPU_SECTION;
}

/**
 * kallsyms entries as ELF symbols: the type letter gives the kind (T/t code, W/w weak code, V/v
 * weak object, D/d B/b R/r data) and case the binding (upper global, lower local); the size is the
 * gap to the next higher address within the same kind of address (per-CPU or not).
 */
export function kallsymsToElfSymbols(decoded: readonly KallsymsSymbol[]): ElfSymbol[] {
  const symbols = decoded.map((s): ElfSymbol => ({
    name: s.name,
    address: s.address,
    size: 0,
    type: s.perCpu ? 'object' : symbolType(s.type),
    binding: symbolBinding(s.type),
    sectionIndex: s.perCpu ? KALLSYMS_PERCPU_SECTION : KALLSYMS_SECTION,
  }));
  setSizes(symbols.filter((s) => !isPerCpu(s)));
  setSizes(symbols.filter(isPerCpu));
  return symbols;
}

/** Each symbol's size: the gap to the next higher address among `group`, capped. */
function setSizes(group: ElfSymbol[]): void {
  const sorted = byAddress(group);
  let next: bigint | undefined;
  for (let i = sorted.length - 1; i >= 0; i--) {
    const s = sorted[i]!;
    if (next !== undefined && next > s.address) s.size = next - s.address > MAX_SIZE_BIG ? MAX_SIZE : Number(next - s.address);
    if (i > 0 && sorted[i - 1]!.address < s.address) next = s.address;
  }
}

/** Sorted by address; kallsyms already is, so this is one pass unless something is out of order. */
function byAddress(symbols: ElfSymbol[]): ElfSymbol[] {
  for (let i = 1; i < symbols.length; i++) {
    if (symbols[i]!.address < symbols[i - 1]!.address) return [...symbols].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  }
  return symbols;
}

function symbolType(letter: string): ElfSymbolType {
  switch (letter.toLowerCase()) {
    case 't':
    case 'w':
      return 'func';
    case 'd':
    case 'b':
    case 'r':
    case 'v':
    case 'a':
      return 'object';
    default:
      return 'notype';
  }
}

function symbolBinding(letter: string): ElfSymbolBinding {
  const lower = letter.toLowerCase();
  if (lower === 'w' || lower === 'v') return 'weak';
  return letter === lower ? 'local' : 'global';
}
