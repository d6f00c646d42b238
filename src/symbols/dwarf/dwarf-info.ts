import { FormatError, NotFoundError } from '../../errors.js';
import type { ElfFile } from '../elf/elf-file.js';
import { SymbolTable } from '../elf/symbol-table.js';
import { ArangeIndex, dieRanges, type AddressRange } from './address-ranges.js';
import { ByteCursor } from './byte-cursor.js';
import { DW_AT, DW_FORM, DW_TAG } from './constants.js';
import { attrNumber, attrString, type Die } from './die.js';
import { DwarfSections } from './dwarf-sections.js';
import { DwarfUnit } from './dwarf-unit.js';
import { findRow, readLineTable, type LineTable } from './line-program.js';
import { stripTypedefs, typeName, typeSize } from './type-names.js';
import { evaluateLocation, type ExpressionContext, type Location } from './location-expression.js';
import { locationAt } from './location-lists.js';
import { singleRegister } from './call-site-values.js';
import { DwarfNameIndex } from './name-index.js';
import { SourceLineIndex, type LineLocations } from './line-locations.js';
import type { ProgressReporter } from '../../progress/progress.js';

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
  file?: string;
  line?: number;
}

export interface TypeMember {
  name: string;
  type: string;
  offset: number;
  size: number;
  bitOffset?: number;
  bitSize?: number;
  /** Members of an anonymous struct or union member (offsets from the outer struct). */
  members?: TypeMember[];
}

export interface TypeLayout {
  name: string;
  size: number;
  members: TypeMember[];
}

/** Parsed units and line tables kept at once: enough for a backtrace, bounded for a 600 MB file. */
const UNIT_CACHE = 12;
/** Units searched for a type by name before the name index is used. */
const EARLY_UNITS = 24;

/** Forms a DW_AT_location takes when it is a location list (DWARF 4 loclistptr, DWARF 5 sec_offset/loclistx). */
const LOCLIST_FORMS = new Set<number>([DW_FORM.sec_offset, DW_FORM.loclistx, DW_FORM.data4, DW_FORM.data8]);

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
        f.args = await this.argumentsOf(die, unit, address, frame, chain, DW_TAG.formal_parameter);
        f.locals = await this.argumentsOf(die, unit, address, frame, chain, DW_TAG.variable);
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

  /** The formal parameters of a function scope, with values read through their locations at `pc`. */
  private async argumentsOf(scope: Die, unit: DwarfUnit, pc: bigint, ctx: ExpressionContext, chain: Die[], tag: number): Promise<FrameArgument[]> {
    // The scope tree skips parameters: read the scope's full subtree.
    const full = await unit.subtree(scope.offset);
    if (!full) return [];
    const root = await unit.rootOnly();
    const base = typeof root.attrs.get(DW_AT.low_pc) === 'bigint' ? (root.attrs.get(DW_AT.low_pc) as bigint) : 0n;
    const resolve = (off: number) => this.dieAt(off, unit);
    // The frame base belongs to the out-of-line function (chain[0]), inlined scopes share it.
    const fn = (await unit.subtree(chain[0]!.offset)) ?? full;
    const frameBase = async () => {
      const fb = fn.attrs.get(DW_AT.frame_base);
      if (!Buffer.isBuffer(fb)) return undefined;
      const loc = await evaluateLocation(fb, ctx);
      return loc.kind === 'memory' ? loc.address : loc.kind === 'value' ? loc.value : undefined;
    };
    const out: FrameArgument[] = [];
    // Variables of the scope, and of the lexical blocks inside it that hold pc (not of inlined callees).
    const candidates: Die[] = [];
    const collect = async (d: Die): Promise<void> => {
      for (const c of d.children) {
        if (c.tag === tag) candidates.push(c);
        else if (tag === DW_TAG.variable && c.tag === DW_TAG.lexical_block && (await dieRanges(c, unit, this.sections, base)).some((r) => r.start <= pc && pc < r.end)) await collect(c);
      }
    };
    await collect(full);
    for (const p of candidates) {
      const origin = typeof p.attrs.get(DW_AT.abstract_origin) === 'number' ? await resolve(p.attrs.get(DW_AT.abstract_origin) as number) : undefined;
      const name = attrString(p, DW_AT.name) ?? (origin && attrString(origin, DW_AT.name)) ?? '?';
      const typeRef = p.attrs.get(DW_AT.type) ?? origin?.attrs.get(DW_AT.type);
      const type = typeof typeRef === 'number' ? await resolve(typeRef) : undefined;
      let expr: Buffer | undefined;
      const loc = p.attrs.get(DW_AT.location);
      if (Buffer.isBuffer(loc)) expr = loc;
      else if (loc !== undefined) expr = await locationAt(this.sections, unit, p.forms.get(DW_AT.location) ?? 0, Number(loc), pc, base);
      let value: string;
      if (p.attrs.has(DW_AT.const_value)) value = String(p.attrs.get(DW_AT.const_value));
      else if (!expr) value = '<optimized out>';
      else value = await this.formatValue(await evaluateLocation(expr, { ...ctx, frameBase }), type, ctx, resolve);
      const arg: FrameArgument = { name, type: await typeName(type, resolve), value };
      // gdb's entry value: a parameter of an out-of-line function that arrived in a register the caller's call site describes.
      if (tag === DW_TAG.formal_parameter && scope.tag === DW_TAG.subprogram && ctx.callSiteValue && loc !== undefined) {
        const entryPc = fn.attrs.get(DW_AT.low_pc);
        const atEntry = Buffer.isBuffer(loc) ? loc : typeof entryPc === 'bigint' ? await locationAt(this.sections, unit, p.forms.get(DW_AT.location) ?? 0, Number(loc), entryPc, base).catch(() => undefined) : undefined;
        const regno = singleRegister(atEntry);
        const passed = regno === undefined ? undefined : ctx.callSiteValue(regno);
        if (passed !== undefined) arg.entryValue = await this.formatValue({ kind: 'value', value: passed }, type, ctx, resolve);
      }
      out.push(arg);
    }
    return out;
  }

  /** A value as gdb prints it in a frame line. */
  private async formatValue(loc: Location, type: Die | undefined, ctx: ExpressionContext, resolve: (off: number) => Promise<Die | undefined>): Promise<string> {
    if (loc.kind === 'optimized-out') return '<optimized out>';
    if (loc.kind === 'unavailable') return '<unavailable>';
    const t = await stripTypedefs(type, resolve);
    const size = (await typeSize(type, resolve)) ?? 8;
    let raw: bigint | undefined;
    try {
      if (loc.kind === 'register') {
        const r = ctx.readRegister(loc.regno);
        if (r === undefined) return '<unavailable>';
        raw = size >= 8 ? r : r & ((1n << BigInt(size * 8)) - 1n);
      } else if (loc.kind === 'value') raw = size >= 8 ? loc.value : loc.value & ((1n << BigInt(size * 8)) - 1n);
      else if (loc.kind === 'implicit') raw = loc.bytes.length <= 8 ? readLe(loc.bytes) : undefined;
      else if (loc.kind === 'memory') {
        if (!t || (t.tag !== DW_TAG.base_type && t.tag !== DW_TAG.pointer_type && t.tag !== DW_TAG.enumeration_type) || size > 8) return '{...}';
        raw = readLe(await ctx.readMemory(loc.address, size));
      } else return '{...}';
    } catch {
      return '<error reading the value>';
    }
    if (raw === undefined) return '{...}';
    if (!t) return `0x${raw.toString(16)}`;
    if (t.tag === DW_TAG.pointer_type) {
      const target = await stripTypedefs(typeof t.attrs.get(DW_AT.type) === 'number' ? await resolve(t.attrs.get(DW_AT.type) as number) : undefined, resolve);
      const isChar = target?.tag === DW_TAG.base_type && /char$/.test(attrString(target, DW_AT.name) ?? '') && attrNumber(target, DW_AT.byte_size) === 1;
      if (isChar && raw !== 0n) {
        try {
          const bytes = await ctx.readMemory(raw, 64);
          const end = bytes.indexOf(0);
          return `0x${raw.toString(16)} ${JSON.stringify(bytes.subarray(0, end < 0 ? 64 : end).toString('latin1'))}${end < 0 ? '...' : ''}`;
        } catch {
          return `0x${raw.toString(16)}`;
        }
      }
      return `0x${raw.toString(16)}`;
    }
    if (t.tag === DW_TAG.enumeration_type) {
      for (const e of t.children) if (BigInt(attrNumber(e, DW_AT.const_value) ?? -1) === raw) return attrString(e, DW_AT.name) ?? String(raw);
      return String(raw);
    }
    const enc = attrNumber(t, DW_AT.encoding);
    if (enc === 0x02) return raw ? 'true' : 'false';
    const signed = enc === 0x05 || enc === 0x06 || enc === 0x0d;
    return signed ? String(BigInt.asIntN(size * 8, raw)) : String(raw);
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
    return { name, address, breakAddress, file: line?.file, line: line?.line };
  }

  /**
   * gdb's amd64 rule: past `endbr64` and a `push %rbp; mov %rsp,%rbp` frame set-up, then on to the
   * start of the next line; a function without that set-up (the kernel without frame pointers) is
   * broken at its first instruction.
   */
  async breakAddress(entry: bigint): Promise<bigint> {
    let code: Buffer;
    try {
      code = await this.sections.elf.readVirtual(entry, 12);
    } catch {
      return entry;
    }
    let i = 0;
    if (code.readUInt32BE(0) === 0xf30f1efa) i = 4; // endbr64
    if (code[i] !== 0x55) return entry;
    const mov = code.readUIntBE(i + 1, 3);
    if (mov !== 0x4889e5 && mov !== 0x488bec) return entry;
    // gdb trusts GCC's variable locations in optimized units (those with location lists) and then
    // breaks at the entry itself, prologue or not (dwarf2 reader: `locations_valid`).
    const unit = await this.unitForAddress(entry);
    if (unit && (await this.locationsValid(unit))) return entry;
    const pc = entry + BigInt(i + 4);
    const line = await this.lineFor(pc);
    return line && line.start !== pc ? line.end : pc;
  }

  private readonly validLocations = new Map<number, boolean>();

  /** gdb's rule: a GCC (>= 4.5) unit in which some variable has a location list. */
  private async locationsValid(unit: DwarfUnit): Promise<boolean> {
    let v = this.validLocations.get(unit.header.offset);
    if (v === undefined) {
      v = false;
      const producer = attrString(await unit.rootOnly(), DW_AT.producer) ?? '';
      const gcc = /^GNU (C|C\+\+|C89|C99|C11|C17|Fortran)\S* (\d+)\.(\d+)/.exec(producer);
      if (gcc && (Number(gcc[2]) > 4 || (Number(gcc[2]) === 4 && Number(gcc[3]) >= 5))) {
        for await (const d of unit.walk()) {
          if ((d.tag === DW_TAG.variable || d.tag === DW_TAG.formal_parameter) && d.attrs.has(DW_AT.location) && LOCLIST_FORMS.has(d.forms.get(DW_AT.location) ?? -1)) {
            v = true;
            break;
          }
        }
      }
      this.validLocations.set(unit.header.offset, v);
    }
    return v;
  }

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
      const percpu = this.sections.elf.section('.data..percpu');
      const perCpu = address !== undefined && percpu !== undefined && address < BigInt(percpu.size) && percpu.addr === 0n;
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
  async infoLine(spec: string): Promise<{ file: string; shortFile: string; line: number; ranges: AddressRange[] }> {
    const m = /^(.+):(\d+)$/.exec(spec);
    if (!m) {
      const f = await this.lookupFunction(spec);
      const l = await this.lineFor(f.address);
      if (!l) throw new NotFoundError(`no line information for ${spec} in ${this.file}`);
      return { file: l.file, shortFile: l.shortFile, line: l.line, ranges: [{ start: l.start, end: l.end }] };
    }
    const [, file, lineText] = m;
    const line = Number(lineText);
    const ranges: AddressRange[] = [];
    // Where a row's address range ends when rows after it share its address (views of one pc).
    const untilNextAddress: bigint[] = [];
    let foundFile: string | undefined;
    let shortFile = file!;
    for (const off of await this.allUnitOffsets()) {
      const unit = await this.unit(off);
      const root = await unit.rootOnly();
      const cuName = attrString(root, DW_AT.name) ?? '';
      if (!cuName.endsWith(file!)) continue;
      const table = await this.lineTable(unit);
      if (!table) continue;
      const rows = table.rows;
      const compDir = attrString(root, DW_AT.comp_dir);
      for (let i = 0; i + 1 < rows.length; i++) {
        const r = rows[i]!;
        const f = table.files[r.file] ?? '';
        if (r.endSequence || r.line !== line || !r.isStmt || !(f === file || f.endsWith(`/${file}`))) continue;
        foundFile = f;
        shortFile = compDir && f.startsWith(`${compDir}/`) ? f.slice(compDir.length + 1) : f;
        ranges.push({ start: r.address, end: rows[i + 1]!.address });
        let j = i + 1;
        while (j + 1 < rows.length && rows[j]!.address === r.address && !rows[j]!.endSequence) j++;
        untilNextAddress.push(rows[j]!.address);
      }
    }
    if (!foundFile) throw new NotFoundError(`no code for ${spec} in ${this.file}`);
    // With only empty rows, the line's code runs to the next address the table gives (as gdb shows it).
    const whole = ranges.map((r, i) => ({ start: r.start, end: r.end > r.start ? r.end : untilNextAddress[i]! }));
    ranges.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    whole.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    // Rows of no length (several views of one address) add nothing; adjacent ones merge.
    const merged: AddressRange[] = [];
    for (const r of ranges) {
      if (r.end <= r.start) continue;
      const last = merged[merged.length - 1];
      if (last && r.start <= last.end) last.end = r.end > last.end ? r.end : last.end;
      else merged.push({ ...r });
    }
    return { file: foundFile, shortFile, line, ranges: merged.length ? merged : whole.slice(0, 1) };
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
    return early ?? find(await this.nameIndex());
  }

  /** Like gdb's `ptype/o`: members with offsets and sizes; anonymous members keep their own members. */
  async typeLayout(spec: string, opts: { flat?: boolean } = {}): Promise<TypeLayout> {
    const found = await this.findType(spec);
    if (!found) throw new NotFoundError(`no type named '${spec}' in ${this.file}`);
    const resolve = (off: number) => this.dieAt(off, found.unit);
    const die = (await stripTypedefs(found.die, resolve)) ?? found.die;
    const members = await this.membersOf(die, 0, resolve);
    return {
      name: spec.trim(),
      size: (await typeSize(die, resolve)) ?? 0,
      members: opts.flat ? flatten(members, '') : members,
    };
  }

  private async membersOf(die: Die, base: number, resolve: (off: number) => Promise<Die | undefined>): Promise<TypeMember[]> {
    const out: TypeMember[] = [];
    for (const m of die.children) {
      if (m.tag !== DW_TAG.member) continue;
      const typeRef = m.attrs.get(DW_AT.type);
      const type = typeof typeRef === 'number' ? await resolve(typeRef) : undefined;
      const loc = m.attrs.get(DW_AT.data_member_location);
      let offset = base + (typeof loc === 'number' ? loc : typeof loc === 'bigint' ? Number(loc) : Buffer.isBuffer(loc) ? plusUconst(loc) : 0);
      const member: TypeMember = { name: attrString(m, DW_AT.name) ?? '', type: await typeName(type, resolve), offset, size: (await typeSize(type, resolve)) ?? 0 };
      const bitSize = attrNumber(m, DW_AT.bit_size);
      if (bitSize !== undefined) {
        const dataBit = attrNumber(m, DW_AT.data_bit_offset);
        const bit = dataBit ?? offset * 8;
        member.bitSize = bitSize;
        offset = base + Math.floor((dataBit !== undefined ? dataBit : (offset - base) * 8) / 8);
        member.offset = typeof loc === 'number' ? base + loc : offset;
        member.bitOffset = (dataBit !== undefined ? dataBit : bit) - (member.offset - base) * 8;
      }
      const inner = await stripTypedefs(type, resolve);
      if (!member.name && inner && (inner.tag === DW_TAG.structure_type || inner.tag === DW_TAG.union_type)) {
        member.members = await this.membersOf(inner, member.offset, resolve);
      }
      out.push(member);
    }
    return out;
  }
}

/** DWARF 2-style member locations: `DW_OP_plus_uconst N`. */
function plusUconst(expr: Buffer): number {
  if (expr[0] === 0x23) return new ByteCursor(expr, 1, 'location expression', '').uleb();
  return 0;
}

function readLe(b: Buffer): bigint {
  let v = 0n;
  for (let i = Math.min(b.length, 8) - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

function flatten(members: TypeMember[], prefix: string): TypeMember[] {
  const out: TypeMember[] = [];
  for (const m of members) {
    const name = m.name ? `${prefix}${m.name}` : prefix.replace(/\.$/, '');
    if (m.members) out.push(...flatten(m.members, m.name ? `${name}.` : prefix));
    else out.push({ ...m, name });
  }
  return out;
}
