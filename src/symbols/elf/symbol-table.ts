import { FormatError } from '../../errors.js';
import { SHT_SYMTAB, type ElfFile } from './elf-file.js';

export type ElfSymbolType = 'notype' | 'object' | 'func' | 'section' | 'file' | 'common' | 'tls' | 'other';
export type ElfSymbolBinding = 'local' | 'global' | 'weak' | 'other';

export interface ElfSymbol {
  name: string;
  address: bigint;
  size: number;
  type: ElfSymbolType;
  binding: ElfSymbolBinding;
  sectionIndex: number;
}

const TYPES: ElfSymbolType[] = ['notype', 'object', 'func', 'section', 'file', 'common', 'tls'];
const BINDINGS: ElfSymbolBinding[] = ['local', 'global', 'weak'];
const SHN_UNDEF = 0;
const SHN_ABS = 0xfff1;
/** Bound on the containment chain walked per lookup (nesting in real files is a few levels). */
const MAX_CHAIN = 1024;

export interface SymbolizedAddress {
  name: string;
  address: bigint;
  size: number;
  /** address - symbol address. */
  offset: bigint;
}

export class SymbolTable {
  private readonly byName = new Map<string, number[]>();
  /** Indexes into `symbols` of address-bearing symbols, sorted by address. */
  private readonly order: Uint32Array;
  private readonly sortedAddresses: BigUint64Array;
  /**
   * For each sorted position: the innermost sized symbol (a sorted position) that starts before
   * this address and contains it, or -1; `below` links each such symbol to the one that enclosed
   * it in turn. Built once by a sweep with a stack, so symbolize() is exact without scanning back.
   */
  private readonly parent: Int32Array;
  private readonly below: Int32Array;

  private constructor(readonly symbols: readonly ElfSymbol[]) {
    symbols.forEach((s, i) => {
      const list = this.byName.get(s.name);
      if (list) list.push(i);
      else this.byName.set(s.name, [i]);
    });
    const located = symbols.map((_, i) => i).filter((i) => isLocated(symbols[i]!));
    // Sort on the two 32-bit halves as numbers: comparing 100k+ bigints is what made loading slow.
    const hi = new Float64Array(symbols.length);
    const lo = new Float64Array(symbols.length);
    const ranks = new Int32Array(symbols.length);
    for (const i of located) {
      const a = symbols[i]!.address;
      hi[i] = Number(a >> 32n);
      lo[i] = Number(a & 0xffffffffn);
      ranks[i] = rank(symbols[i]!);
    }
    located.sort((a, b) => hi[a]! - hi[b]! || lo[a]! - lo[b]! || ranks[b]! - ranks[a]!);
    this.order = Uint32Array.from(located);
    this.sortedAddresses = BigUint64Array.from(located.map((i) => symbols[i]!.address));
    const m = located.length;
    this.parent = new Int32Array(m).fill(-1);
    this.below = new Int32Array(m).fill(-1);
    const stack: number[] = [];
    const ends: bigint[] = [];
    for (let g = 0; g < m; ) {
      const a = this.sortedAddresses[g]!;
      let h = g;
      while (h + 1 < m && this.sortedAddresses[h + 1] === a) h++;
      while (stack.length > 0 && ends[ends.length - 1]! <= a) {
        stack.pop();
        ends.pop();
      }
      const p = stack.length > 0 ? stack[stack.length - 1]! : -1;
      for (let i = g; i <= h; i++) this.parent[i] = p;
      // Sized members of the group, outermost (largest) first so the innermost ends on top.
      const sized: number[] = [];
      for (let i = g; i <= h; i++) if (symbols[located[i]!]!.size > 0) sized.push(i);
      sized.sort((x, y) => symbols[located[y]!]!.size - symbols[located[x]!]!.size);
      for (const i of sized) {
        this.below[i] = stack.length > 0 ? stack[stack.length - 1]! : -1;
        stack.push(i);
        ends.push(a + BigInt(symbols[located[i]!]!.size));
      }
      g = h + 1;
    }
  }

  /** A table over symbols read from elsewhere than `.symtab` (kallsyms of a stripped image, a module). */
  static fromSymbols(symbols: readonly ElfSymbol[]): SymbolTable {
    return new SymbolTable(symbols);
  }

  static async fromElf(elf: ElfFile): Promise<SymbolTable> {
    const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB);
    if (!symtab) throw new FormatError(elf.path, 0, 'no .symtab section (a stripped file? pass the unstripped vmlinux)');
    const strtabSec = elf.sections[symtab.link];
    if (!strtabSec) throw new FormatError(elf.path, symtab.offset, `.symtab links to missing string table ${symtab.link}`);
    const data = await elf.readSection(symtab);
    const strings = await elf.readSection(strtabSec);
    const entsize = symtab.entsize || 24;
    if (entsize < 24) throw new FormatError(elf.path, symtab.offset, `symbol entry size ${entsize} is too small`);
    const symbols: ElfSymbol[] = [];
    for (let o = entsize; o + 24 <= data.length; o += entsize) {
      const nameOff = data.readUInt32LE(o);
      if (nameOff >= strings.length) throw new FormatError(elf.path, symtab.offset + o, `symbol name offset ${nameOff} is outside the string table`);
      const info = data[o + 4]!;
      const end = strings.indexOf(0, nameOff);
      symbols.push({
        name: strings.toString('latin1', nameOff, end < 0 ? strings.length : end),
        type: TYPES[info & 0xf] ?? 'other',
        binding: BINDINGS[info >> 4] ?? 'other',
        sectionIndex: data.readUInt16LE(o + 6),
        address: data.readBigUInt64LE(o + 8),
        size: Number(data.readBigUInt64LE(o + 16)),
      });
    }
    elf.forgetSection(symtab);
    elf.forgetSection(strtabSec);
    return new SymbolTable(symbols);
  }

  /**
   * One function's address by scanning `.symtab` in place, without building the table: a cold
   * `lookup NAME` then costs one pass over a few MB instead of decoding 100k+ symbols.
   */
  static async findFunction(elf: ElfFile, name: string): Promise<bigint | undefined> {
    const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB);
    const strtabSec = symtab ? elf.sections[symtab.link] : undefined;
    if (!symtab || !strtabSec) return undefined;
    const data = await elf.readSection(symtab);
    const strings = await elf.readSection(strtabSec);
    const wanted = Buffer.from(`${name}\0`, 'latin1');
    const entsize = symtab.entsize || 24;
    let localFunc: bigint | undefined;
    let label: bigint | undefined;
    for (let o = entsize; o + 24 <= data.length; o += entsize) {
      const nameOff = data.readUInt32LE(o);
      if (strings[nameOff] !== wanted[0] || nameOff + wanted.length > strings.length) continue;
      if (strings.compare(wanted, 0, wanted.length, nameOff, nameOff + wanted.length) !== 0) continue;
      const type = data[o + 4]! & 0xf;
      const bind = data[o + 4]! >> 4;
      if ((type !== 2 && type !== 0) || data.readUInt16LE(o + 6) === 0) continue;
      const address = data.readBigUInt64LE(o + 8);
      // The same preference as functionAddress(): global functions, then local ones, then code labels.
      if (type === 2 && bind !== 0) return address;
      if (type === 2) localFunc ??= address;
      else label ??= address;
    }
    return localFunc ?? label;
  }

  get size(): number {
    return this.symbols.length;
  }

  /** Every symbol with this name, functions first, globals before locals. */
  lookup(name: string): ElfSymbol[] {
    const list = (this.byName.get(name) ?? []).map((i) => this.symbols[i]!);
    return list.sort((a, b) => rank(b) - rank(a));
  }

  /** Where a breakpoint on `name` goes: the function (or code label) of that name. */
  functionAddress(name: string): bigint | undefined {
    const hit = this.lookup(name).find((s) => (s.type === 'func' || s.type === 'notype') && s.sectionIndex !== SHN_UNDEF);
    return hit?.address;
  }

  /**
   * The symbol an address belongs to, as gdb and addr2line name it: among the sized symbols
   * that contain it, a function first, then a sized code label (entry_SYSCALL_64 is NOTYPE),
   * then an object, the innermost of each kind; when none contains it (padding, unsized asm
   * labels), the closest symbol at or before it, as nm-based tools do. For a return address
   * (every frame but the first of a backtrace) pass pc-1.
   */
  symbolize(address: bigint): SymbolizedAddress | undefined {
    const idx = this.upperBound(address) - 1;
    if (idx < 0) return undefined;
    const start = this.sortedAddresses[idx]!;
    let g = idx;
    while (g > 0 && this.sortedAddresses[g - 1] === start) g--;
    let best: ElfSymbol | undefined;
    const consider = (s: ElfSymbol): void => {
      if (s.size <= 0 || address >= s.address + BigInt(s.size)) return;
      if (!best || better(s, best)) best = s;
    };
    for (let i = g; i <= idx; i++) consider(this.symbols[this.order[i]!]!);
    for (let c = this.parent[g]!, n = 0; c >= 0 && n < MAX_CHAIN; c = this.below[c]!, n++) consider(this.symbols[this.order[c]!]!);
    if (!best) {
      for (let i = g; i <= idx; i++) {
        const s = this.symbols[this.order[i]!]!;
        if (!best || rank(s) > rank(best)) best = s;
      }
    }
    const s = best!;
    return { name: s.name, address: s.address, size: s.size, offset: address - s.address };
  }

  private sortedNames: string[] | undefined;

  /** Distinct names starting with `prefix`, sorted (tab completion); at most `max`. */
  namesWithPrefix(prefix: string, max = 200): string[] {
    this.sortedNames ??= [...this.byName.keys()].filter((n) => n !== '').sort();
    const names = this.sortedNames;
    let lo = 0;
    let hi = names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (names[mid]! < prefix) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < names.length && out.length < max && names[i]!.startsWith(prefix); i++) out.push(names[i]!);
    return out;
  }

  /** Names close to a misspelt one, for "did you mean". */
  closeMatches(name: string, max = 5): string[] {
    const scored: { name: string; score: number }[] = [];
    const seen = new Set<string>();
    const lower = name.toLowerCase();
    for (const s of this.symbols) {
      if (s.type !== 'func' || seen.has(s.name)) continue;
      seen.add(s.name);
      const cand = s.name.toLowerCase();
      let score: number;
      if (cand.includes(lower) || lower.includes(cand)) score = Math.abs(cand.length - lower.length) * 0.1;
      else if (Math.abs(cand.length - lower.length) > 3) continue;
      else score = editDistance(lower, cand, 4);
      if (score <= 3) scored.push({ name: s.name, score });
    }
    scored.sort((a, b) => a.score - b.score || a.name.length - b.name.length || (a.name < b.name ? -1 : 1));
    return scored.slice(0, max).map((s) => s.name);
  }

  *functions(): Iterable<ElfSymbol> {
    for (const s of this.symbols) if (s.type === 'func' && s.sectionIndex !== SHN_UNDEF) yield s;
  }

  /** First position whose address is greater than `address`. */
  private upperBound(address: bigint): number {
    let lo = 0;
    let hi = this.sortedAddresses.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sortedAddresses[mid]! <= address) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function isLocated(s: ElfSymbol): boolean {
  return s.sectionIndex !== SHN_UNDEF && s.sectionIndex !== SHN_ABS && s.type !== 'section' && s.type !== 'file' && s.name !== '';
}

/** Between two sized symbols containing an address: func > code label > object, then the innermost, then rank. */
function better(a: ElfSymbol, b: ElfSymbol): boolean {
  const ka = kindOrder(a);
  const kb = kindOrder(b);
  if (ka !== kb) return ka > kb;
  if (a.address !== b.address) return a.address > b.address;
  if (a.size !== b.size) return a.size < b.size;
  return rank(a) > rank(b);
}

function kindOrder(s: ElfSymbol): number {
  return s.type === 'func' ? 3 : s.type === 'notype' ? 2 : s.type === 'object' ? 1 : 0;
}

/** Among aliases at one address: functions over labels over data, globals over locals, sized over not. */
function rank(s: ElfSymbol): number {
  const type = s.type === 'func' ? 4 : s.type === 'notype' ? 2 : s.type === 'object' ? 1 : 0;
  const bind = s.binding === 'global' ? 2 : s.binding === 'weak' ? 1 : 0;
  return type * 8 + bind * 2 + (s.size > 0 ? 1 : 0);
}

/** Levenshtein distance, giving up (returning limit+1) once it exceeds `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin > limit) return limit + 1;
    prev = cur;
  }
  return prev[b.length]!;
}
