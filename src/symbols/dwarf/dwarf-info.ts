import { FormatError, NotFoundError } from '../../errors.js';
import type { ElfFile } from '../elf/elf-file.js';
import { SymbolTable } from '../elf/symbol-table.js';
import { isPerCpuOffset } from '../elf/per-cpu-section.js';
import { ArangeIndex, dieRanges, type AddressRange } from './address-ranges.js';
import { ByteCursor } from './byte-cursor.js';
import { DW_AT, DW_TAG } from './constants.js';
import { attrNumber, attrString, type Die } from './die.js';
import { DwarfSections } from './dwarf-sections.js';
import { DwarfUnit } from './dwarf-unit.js';
import { findRow, readLineTable, type LineTable } from './line-program.js';
import { typeName } from './type-names.js';
import type { ExpressionContext } from './location-expression.js';
import { locationAt } from './location-lists.js';
import { DwarfNameIndex } from './name-index.js';
import { SourceLineIndex, type LineLocations } from './line-locations.js';
import { frameArguments } from './frame-arguments.js';
import { infoLine } from './info-line.js';
import { FunctionBreakAddress } from './function-break-address.js';
import { typeLayout, type TypeLayout } from './type-layout.js';
export type { TypeLayout, TypeMember } from './type-layout.js';
import type { ProgressReporter } from '../../progress/progress.js';
import { BtfFile, functionsTakingPointerTo } from '../btf/index.js';

export interface SourceFrame {
  function: string;
  /** The path as addr2line prints it (compilation directory included when it is relative). */
  file?: string;
  /** The path as gdb prints it: relative to the compilation directory (`fs/namei.c`). */
  shortFile?: string;
  line?: number;
  column?: number;
  /** True for every frame but the outermost: it was inlined into the next one. */
  inlined: boolean;
  /** Parameters with their values, when a frame context was given. */
  args?: FrameArgument[];
  /** Local variables in scope at the address (lexical blocks included), when a frame context was given. */
  locals?: FrameArgument[];
}

/** A parameter or local variable in scope at some address (see DwarfInfo.variablesAt). */
export interface ScopedVariable {
  name: string;
  isParameter: boolean;
  /** .debug_info offset of its type DIE. */
  typeOffset?: number;
  /** Its DWARF location expression at that address; none = optimized out there. */
  location?: Buffer;
  constValue?: number | bigint | Buffer;
  /** The enclosing function's DW_AT_frame_base expression. */
  frameBase?: Buffer;
}

export interface FrameArgument {
  name: string;
  type: string;
  /** As gdb prints it: `-100`, `0xffff888003e91000`, `0x89ecac8 "/tmp/test"`, `<optimized out>`. */
  value: string;
  /** The value the caller passed (from its call site), when known: gdb prints `dfd=dfd@entry=-100`. */
  entryValue?: string;
}

export interface FunctionLocation {
  name: string;
  address: bigint;
  /** Where gdb puts a breakpoint on the function (after the frame set-up, when there is one). */
  breakAddress: bigint;
  /** The file as the line table names it (addr2line's path) and as gdb prints it (relative to the build directory). */
  file?: string;
  shortFile?: string;
  line?: number;
}

/** Parsed units and line tables kept at once: enough for a backtrace, bounded for a 600 MB file. */
const UNIT_CACHE = 12;
/** Units searched for a type by name before the name index is used. */
const EARLY_UNITS = 24;
/** How many functions' units to try for a type before indexing every unit (findTypeNearItsUsers). */
const NEAR_USERS = 3;

/** Forms a DW_AT_location takes when it is a location list (DWARF 4 loclistptr, DWARF 5 sec_offset/loclistx). */

/**
 * Source-level answers from DWARF 4/5, read lazily: a query reads the one unit it needs (found
 * through .debug_aranges) and its line program, never the whole .debug_info.
 */
export class DwarfInfo {
  private readonly units = new Map<number, DwarfUnit>();
  private readonly lineTables = new Map<number, Promise<LineTable>>();
  private unitOffsets: number[] | undefined;

  private constructor(
    readonly sections: DwarfSections,
    private readonly aranges: ArangeIndex | undefined,
    private readonly symbolSource?: SymbolTable | (() => Promise<SymbolTable>),
  ) {}

  private symbolTable: Promise<SymbolTable | undefined> | undefined;

  /** The ELF symbol table, read on first need (answers that DWARF alone gives skip it). */
  private symbols(): Promise<SymbolTable | undefined> {
    const src = this.symbolSource;
    this.symbolTable ??= typeof src === 'function' ? src().catch(() => undefined) : Promise.resolve(src);
    return this.symbolTable;
  }

  static async open(elf: ElfFile, symbols?: SymbolTable | (() => Promise<SymbolTable>)): Promise<DwarfInfo> {
    const sections = new DwarfSections(elf);
    if (!sections.has('.debug_info')) throw new FormatError(elf.path, 0, 'no .debug_info section: this file has no DWARF debug info');
    return new DwarfInfo(sections, await ArangeIndex.read(sections), symbols);
  }

  get file(): string {
    return this.sections.file;
  }

  /** A unit by its .debug_info offset (cached, a bounded number at a time). */
  async unit(offset: number): Promise<DwarfUnit> {
    let u = this.units.get(offset);
    if (u) {
      this.units.delete(offset);
      this.units.set(offset, u);
      return u;
    }
    u = await DwarfUnit.read(this.sections, offset);
    this.units.set(offset, u);
    if (this.units.size > UNIT_CACHE) this.units.delete(this.units.keys().next().value!);
    return u;
  }

  /** Offsets of every unit, read from the unit headers (cheap: 12 bytes each). */
  async allUnitOffsets(): Promise<number[]> {
    if (this.unitOffsets) return this.unitOffsets;
    // A loaded name index knows them all already.
    const known = this.index ? (await this.index).unitOffsets : undefined;
    if (known?.length) return (this.unitOffsets = known);
    const size = this.sections.sectionSize('.debug_info');
    const out: number[] = [];
    for (let off = 0; off < size; ) {
      out.push(off);
      const head = await this.sections.readPart('.debug_info', off, Math.min(12, size - off));
      const { length, offsetSize } = new ByteCursor(head, 0, '.debug_info', this.file, off).initialLength();
      off += length + (offsetSize === 8 ? 12 : 4);
    }
    this.unitOffsets = out;
    return out;
  }

  /** The unit whose code covers an address. */
  async unitForAddress(address: bigint): Promise<DwarfUnit | undefined> {
    const off = this.aranges?.unitFor(address);
    return off === undefined ? undefined : this.unit(off);
  }

  async lineTable(unit: DwarfUnit): Promise<LineTable | undefined> {
    const root = await unit.rootOnly();
    const stmt = attrNumber(root, DW_AT.stmt_list);
    if (stmt === undefined) return undefined;
    let t = this.lineTables.get(stmt);
    if (t) this.lineTables.delete(stmt);
    else t = readLineTable(this.sections, stmt);
    this.lineTables.set(stmt, t);
    if (this.lineTables.size > UNIT_CACHE) this.lineTables.delete(this.lineTables.keys().next().value!);
    return t;
  }

  /** The line-table row covering an address: file, line and where that row's range starts and ends. */
  /** The line-table row at an address; `shortFile` is the file relative to the unit's comp_dir, as gdb names it. */
  async lineFor(address: bigint, unit?: DwarfUnit): Promise<{ file: string; shortFile: string; line: number; column: number; start: bigint; end: bigint } | undefined> {
    const u = unit ?? (await this.unitForAddress(address));
    if (!u) return undefined;
    const table = await this.lineTable(u);
    if (!table) return undefined;
    const best = findRow(table, address);
    if (best === undefined) return undefined;
    const rows = table.rows;
    const r = rows[best]!;
    // Several rows can share an address (views); the range ends at the next different address.
    let end = rows[best + 1]!.address;
    for (let j = best + 1; j < rows.length && rows[j]!.address === r.address; j++) end = rows[j + 1]?.address ?? end;
    const file = table.files[r.file] ?? `<file ${r.file}>`;
    const compDir = attrString(await u.rootOnly(), DW_AT.comp_dir);
    const shortFile = compDir && file.startsWith(`${compDir}/`) ? file.slice(compDir.length + 1) : file;
    return { file, shortFile, line: r.line, column: r.column, start: r.address, end };
  }

  /** Like `addr2line -f -i`: the innermost inlined function first, each caller after it with its call site. */
  async addr2line(address: bigint, frame?: ExpressionContext): Promise<SourceFrame[]> {
    const unit = await this.unitForAddress(address);
    if (!unit) {
      // No debug info covers it: the symbol table still names it (addr2line -f prints `name ??:?`).
      const sym = (await this.symbols())?.symbolize(address);
      return sym ? [{ function: sym.name, inlined: false }] : [];
    }
    const root = await unit.scopes();
    const chain = await this.scopeChain(root, unit, address);
    const line = await this.lineFor(address, unit);
    if (chain.length === 0) {
      // Code with line info but no DWARF function (assembly): name it from the symbol table, as addr2line -f does.
      const sym = (await this.symbols())?.symbolize(address);
      return line ? [{ function: sym?.name ?? '??', file: line.file, shortFile: line.file, line: line.line, inlined: false }] : [];
    }
    const table = await this.lineTable(unit);
    const frames: SourceFrame[] = [];
    let file = line?.file;
    let ln = line?.line;
    const compDir = attrString(root, DW_AT.comp_dir);
    const short = (f: string | undefined) => (f && compDir && f.startsWith(`${compDir}/`) ? f.slice(compDir.length + 1) : f);
    for (let i = chain.length - 1; i >= 0; i--) {
      const die = chain[i]!;
      const f: SourceFrame = { function: (await this.nameOf(die, unit)) ?? '??', file, shortFile: short(file), line: ln, inlined: i > 0 };
      if (frame) {
        f.args = await frameArguments(this, die, unit, address, frame, chain, DW_TAG.formal_parameter);
        f.locals = await frameArguments(this, die, unit, address, frame, chain, DW_TAG.variable);
      }
      frames.push(f);
      if (die.tag === DW_TAG.inlined_subroutine) {
        const cf = attrNumber(die, DW_AT.call_file);
        file = cf !== undefined ? table?.files[cf] : undefined;
        ln = attrNumber(die, DW_AT.call_line);
      }
    }
    return frames;
  }

  /** The subprogram containing an address, then each inlined subroutine inside it that does. */
  private async scopeChain(root: Die, unit: DwarfUnit, address: bigint): Promise<Die[]> {
    const base = typeof root.attrs.get(DW_AT.low_pc) === 'bigint' ? (root.attrs.get(DW_AT.low_pc) as bigint) : 0n;
    const chain: Die[] = [];
    const contains = async (d: Die) => (await dieRanges(d, unit, this.sections, base)).some((r) => r.start <= address && address < r.end);
    let scope: Die = root;
    for (;;) {
      let next: Die | undefined;
      for (const child of scope.children) {
        const t = child.tag;
        if (t !== DW_TAG.subprogram && t !== DW_TAG.inlined_subroutine && t !== DW_TAG.lexical_block) continue;
        if (t === DW_TAG.subprogram && scope !== root && chain.length > 0) continue; // nested function declarations
        if (await contains(child)) {
          next = child;
          break;
        }
      }
      if (!next) return chain;
      if (next.tag !== DW_TAG.lexical_block) chain.push(next);
      scope = next;
    }
  }

  /**
   * The parameters and local variables visible at an address, innermost scope first (an
   * inlined function's own before the function it was inlined into), each with its DIE (for
   * the type), its location expression at that address, or its constant value.
   */
  async variablesAt(address: bigint): Promise<ScopedVariable[]> {
    const unit = await this.unitForAddress(address);
    if (!unit) return [];
    const root = await unit.scopes();
    const chain = await this.scopeChain(root, unit, address);
    if (chain.length === 0) return [];
    const rootFull = await unit.rootOnly();
    const base = typeof rootFull.attrs.get(DW_AT.low_pc) === 'bigint' ? (rootFull.attrs.get(DW_AT.low_pc) as bigint) : 0n;
    const fn = await unit.subtree(chain[0]!.offset);
    const frameBase = fn?.attrs.get(DW_AT.frame_base);
    const out: ScopedVariable[] = [];
    for (let i = chain.length - 1; i >= 0; i--) {
      const full = await unit.subtree(chain[i]!.offset);
      if (!full) continue;
      const found: Die[] = [];
      const collect = async (d: Die): Promise<void> => {
        for (const c of d.children) {
          if (c.tag === DW_TAG.formal_parameter || c.tag === DW_TAG.variable) found.push(c);
          else if (c.tag === DW_TAG.lexical_block && (await dieRanges(c, unit, this.sections, base)).some((r) => r.start <= address && address < r.end)) await collect(c);
        }
      };
      await collect(full);
      // Inner blocks shadow outer ones: list the deepest declarations first.
      found.reverse();
      for (const v of found) {
        const origin = typeof v.attrs.get(DW_AT.abstract_origin) === 'number' ? await this.dieAt(v.attrs.get(DW_AT.abstract_origin) as number, unit) : undefined;
        const name = attrString(v, DW_AT.name) ?? (origin && attrString(origin, DW_AT.name));
        if (!name) continue;
        const typeRef = v.attrs.get(DW_AT.type) ?? origin?.attrs.get(DW_AT.type);
        const loc = v.attrs.get(DW_AT.location);
        let location: Buffer | undefined;
        if (Buffer.isBuffer(loc)) location = loc;
        else if (loc !== undefined) location = await locationAt(this.sections, unit, v.forms.get(DW_AT.location) ?? 0, Number(loc), address, base);
        const constValue = v.attrs.get(DW_AT.const_value) ?? origin?.attrs.get(DW_AT.const_value);
        out.push({
          name,
          isParameter: v.tag === DW_TAG.formal_parameter,
          typeOffset: typeof typeRef === 'number' ? typeRef : undefined,
          location,
          constValue: constValue === undefined || typeof constValue === 'string' || typeof constValue === 'boolean' ? undefined : constValue,
          frameBase: Buffer.isBuffer(frameBase) ? frameBase : undefined,
        });
      }
    }
    return out;
  }

  /** A global variable's definition: its type DIE offset and link-time address (per-CPU: its offset). */
  async globalVariable(name: string): Promise<{ typeOffset?: number; address?: bigint } | undefined> {
    let fallback: { typeOffset?: number; address?: bigint } | undefined;
    for (const off of (await this.nameIndex()).lookup(name, 'variable')) {
      const unit = await this.unitContaining(off);
      const d = await unit?.dieAt(off);
      if (!d || !unit) continue;
      const spec = d.attrs.get(DW_AT.specification);
      const decl = typeof spec === 'number' ? await this.dieAt(spec, unit) : undefined;
      const typeRef = d.attrs.get(DW_AT.type) ?? decl?.attrs.get(DW_AT.type);
      const loc = d.attrs.get(DW_AT.location);
      const address = Buffer.isBuffer(loc) && loc[0] === 0x03 && loc.length === 9 ? loc.readBigUInt64LE(1) : undefined;
      if (address === undefined && !d.attrs.has(DW_AT.location)) continue; // a declaration: look for the definition
      const found = { typeOffset: typeof typeRef === 'number' ? typeRef : undefined, address };
      // A definition that takes its type from the declaration may see `char x[]` without a size;
      // another unit's definition often carries the complete type.
      if (d.attrs.has(DW_AT.type)) return found;
      fallback ??= found;
    }
    if (fallback) return fallback;
    // No definition in the DWARF (a linker-script symbol such as jiffies): the declared type, and
    // the address from the symbol table.
    for (const off of (await this.nameIndex()).lookup(name, 'declared-variable')) {
      const typeRef = (await this.dieAt(off))?.attrs.get(DW_AT.type);
      if (typeof typeRef === 'number') return { typeOffset: typeRef };
    }
    return undefined;
  }

  /** A subprogram's or inlined subroutine's name, through abstract_origin and specification. */
  async nameOf(die: Die, unit?: DwarfUnit): Promise<string | undefined> {
    let d: Die | undefined = die;
    for (let guard = 0; d && guard < 8; guard++) {
      const name = attrString(d, DW_AT.name);
      if (name) return name;
      const ref = d.attrs.get(DW_AT.abstract_origin) ?? d.attrs.get(DW_AT.specification);
      if (typeof ref !== 'number') return undefined;
      // Origins of code scopes are subprograms: the scope tree has them without reading more.
      d = await this.dieAt(ref, unit, true);
    }
    return undefined;
  }

  /** A DIE by absolute offset: in the given unit when it is there, else in the unit that holds it. */
  async dieAt(offset: number, hint?: DwarfUnit, scopesOnly = false): Promise<Die | undefined> {
    const unit = hint && offset >= hint.header.offset && offset < hint.header.end ? hint : await this.unitContaining(offset);
    return scopesOnly ? unit?.scopeDieAt(offset) : unit?.dieAt(offset);
  }

  /** Name → entry address (from the symbol table) and gdb's breakpoint address, file and line. */
  async lookupFunction(name: string): Promise<FunctionLocation> {
    // With the name index on disk, DWARF answers alone; otherwise the symbol table is the quick way.
    const indexed = (this.index || (await DwarfNameIndex.loadCached(await this.sections.elf.buildId()).then((c) => c && (this.index = Promise.resolve(c)))))
      ? await this.findFunctionInDwarf(name)
      : undefined;
    const address =
      indexed ??
      (this.symbolTable ? (await this.symbols())?.functionAddress(name) : await SymbolTable.findFunction(this.sections.elf, name)) ??
      (await this.findFunctionInDwarf(name));
    if (address === undefined) {
      const near = (await this.symbols())?.closeMatches(name, 5) ?? [];
      throw new NotFoundError(`no function named '${name}' in ${this.file}${near.length ? ` (did you mean: ${near.join(', ')}?)` : ''}`);
    }
    const breakAddress = await this.breakAddress(address);
    const line = await this.lineFor(breakAddress);
    return { name, address, breakAddress, file: line?.file, shortFile: line?.shortFile, line: line?.line };
  }

  /** Where gdb puts a breakpoint on the function at `entry` (see function-break-address.ts). */
  breakAddress(entry: bigint): Promise<bigint> {
    this.breakRule ??= new FunctionBreakAddress(this);
    return this.breakRule.at(entry);
  }

  private breakRule: FunctionBreakAddress | undefined;

  private index: Promise<DwarfNameIndex> | undefined;
  /** Where long work (building the name index) reports. */
  progress: ProgressReporter | undefined;

  /** The name index: from the on-disk cache for this build-id, else built once (about 2.5 s for a distro vmlinux). */
  nameIndex(): Promise<DwarfNameIndex> {
    this.index ??= (async () => DwarfNameIndex.load(this.sections, await this.sections.elf.buildId(), this.progress))();
    return this.index;
  }

  private async findFunctionInDwarf(name: string): Promise<bigint | undefined> {
    for (const off of (await this.nameIndex()).lookup(name, 'function')) {
      const d = await this.dieAt(off);
      const low = d?.attrs.get(DW_AT.low_pc);
      if (typeof low === 'bigint') return low;
    }
    return undefined;
  }

  /** A global or per-CPU variable: its link-time address (per-CPU: its offset in the per-CPU area) and type. */
  async lookupVariable(name: string): Promise<{ name: string; address?: bigint; type: string; perCpu: boolean }> {
    const sym = (await this.symbols())?.lookup(name).find((s) => s.type === 'object' || s.type === 'notype');
    for (const off of (await this.nameIndex()).lookup(name, 'variable')) {
      const unit = await this.unitContaining(off);
      const d = await unit?.dieAt(off);
      if (!d || !unit) continue;
      const spec = d.attrs.get(DW_AT.specification);
      const decl = typeof spec === 'number' ? await this.dieAt(spec, unit) : undefined;
      const typeRef = d.attrs.get(DW_AT.type) ?? decl?.attrs.get(DW_AT.type);
      const resolve = (o: number) => this.dieAt(o, unit);
      const type = await typeName(typeof typeRef === 'number' ? await resolve(typeRef) : undefined, resolve);
      const loc = d.attrs.get(DW_AT.location);
      // DW_OP_addr N: the address itself. Per-CPU variables sit in the zero-based .data..percpu section.
      const address = Buffer.isBuffer(loc) && loc[0] === 0x03 && loc.length === 9 ? loc.readBigUInt64LE(1) : sym?.address;
      const perCpu = address !== undefined && isPerCpuOffset(this.sections.elf, address);
      return { name, address, type, perCpu };
    }
    if (sym) return { name, address: sym.address, type: '<no debug info>', perCpu: false };
    throw new NotFoundError(`no variable named '${name}' in ${this.file}`);
  }

  private async unitContaining(offset: number): Promise<DwarfUnit | undefined> {
    const all = await this.allUnitOffsets();
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (all[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? undefined : this.unit(all[lo - 1]!);
  }

  private sourceLines: SourceLineIndex | undefined;

  /** Every breakpoint location of `FILE:LINE`, as gdb finds them (headers inlined into hundreds of functions included). */
  lineLocations(file: string, line: number): Promise<LineLocations> {
    this.sourceLines ??= new SourceLineIndex(this);
    return this.sourceLines.locations(file, line);
  }

  /** `info line FUNCTION` or `info line FILE:LINE`: where that line's code is. */
  infoLine(spec: string): Promise<{ file: string; shortFile: string; line: number; ranges: AddressRange[] }> {
    return infoLine(this, spec);
  }

  /** The definition DIE of a named struct/union/enum/typedef, searching units in order. */
  async findType(spec: string): Promise<{ die: Die; unit: DwarfUnit } | undefined> {
    const m = /^(struct|union|enum)\s+(\S+)$/.exec(spec.trim());
    const tags = m ? [m[1] === 'struct' ? DW_TAG.structure_type : m[1] === 'union' ? DW_TAG.union_type : DW_TAG.enumeration_type] : [DW_TAG.typedef, DW_TAG.base_type, DW_TAG.structure_type, DW_TAG.union_type];
    const name = m ? m[2]! : spec.trim();
    const find = async (index: DwarfNameIndex) => {
      for (const off of index.lookup(name, 'type')) {
        const unit = await this.unitContaining(off);
        const d = await unit?.dieAt(off);
        if (d && unit && tags.includes(d.tag as never)) return { die: d, unit };
      }
      return undefined;
    };
    // With the index on disk, go straight to the definition. Without it, core types are in the
    // first units of any kernel: index those few before indexing everything.
    const cached = this.index ? await this.index : await DwarfNameIndex.loadCached(await this.sections.elf.buildId());
    if (cached) {
      this.index ??= Promise.resolve(cached);
      return find(cached);
    }
    const early = await find(await DwarfNameIndex.buildFromUnits(this.sections, (await this.allUnitOffsets()).slice(0, EARLY_UNITS)));
    if (early) return early;
    const near = m ? await this.findTypeNearItsUsers(`${m[1]} ${name}`, find) : undefined;
    return near ?? find(await this.nameIndex());
  }

  /**
   * A struct or union in the units of functions that take a pointer to it, as the kernel's own BTF
   * lists them (a kernel built with BTF has both): a few units read instead of all ~2,800.
   */
  private async findTypeNearItsUsers<T>(tagged: string, find: (index: DwarfNameIndex) => Promise<T | undefined>): Promise<T | undefined> {
    const elf = this.sections.elf;
    const section = elf.section('.BTF');
    if (!section) return undefined;
    // BTF that cannot be read only costs this shortcut: the full index still answers.
    const btf = await elf.readSection(section).then((bytes) => BtfFile.parse(bytes, this.file), () => undefined).catch(() => undefined);
    if (!btf) return undefined;
    const units = new Set<number>();
    for (const fn of functionsTakingPointerTo(btf, tagged, NEAR_USERS)) {
      const address = this.symbolTable ? (await this.symbols())?.functionAddress(fn) : await SymbolTable.findFunction(elf, fn);
      const unit = address === undefined ? undefined : await this.unitForAddress(address);
      if (unit) units.add(unit.header.offset);
    }
    return units.size ? find(await DwarfNameIndex.buildFromUnits(this.sections, [...units])) : undefined;
  }

  /** Like gdb's `ptype/o`: members with offsets and sizes; anonymous members keep their own members. */
  typeLayout(spec: string, opts: { flat?: boolean } = {}): Promise<TypeLayout> {
    return typeLayout(this, spec, opts);
  }
}
