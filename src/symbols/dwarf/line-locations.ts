import { NotFoundError } from '../../errors.js';
import { dieRanges } from './address-ranges.js';
import { DW_AT, DW_TAG } from './constants.js';
import { attrString, type Die } from './die.js';
import type { DwarfInfo } from './dwarf-info.js';
import type { DwarfUnit } from './dwarf-unit.js';
import { readLineProgramHeader, runLineProgram } from './line-program.js';

/** One place a source line's code is: a breakpoint location, as gdb lists it (`1.3 … in FUNC at FILE:LINE`). */
export interface LineLocation {
  /** Link-time address. */
  address: bigint;
  /** The innermost function (inlined or not) whose code this is. */
  function?: string;
  /** The file as the line table names it, and as gdb prints it (relative to the build directory). */
  file: string;
  shortFile: string;
  line: number;
}

export interface LineLocations {
  /** The line asked for; `line` differs when that line has no code and the next one with code was taken. */
  requestedLine: number;
  line: number;
  locations: LineLocation[];
}

interface LineEntry {
  address: bigint;
  line: number;
  isStmt: boolean;
}

/** A line program whose file table names the file asked for, and which of its paths match. */
interface ProgramFiles {
  offset: number;
  files: string[];
}

/** gdb's file-name rule: the name given equals the path or is its tail after a `/`. */
function fileMatches(path: string, wanted: string): boolean {
  return path === wanted || path.endsWith(`/${wanted}`);
}

/**
 * `FILE:LINE` to every address gdb puts a breakpoint at (linespec.c's rule, checked against gdb):
 * in every unit whose line table names the file (headers are in hundreds), the line-table
 * entries of that line with is_stmt, the first in each block (a function, an inlined call, a
 * lexical block with variables); a line without code moves to the nearest later line that has
 * some. The line tables are rebuilt as gdb builds its own: rows superseded at the same address
 * by a change of file are dropped, and repeats of a line with discriminators are not new entries.
 */
export class SourceLineIndex {
  private programs: Promise<ProgramFiles[]> | undefined;

  constructor(private readonly dwarf: DwarfInfo) {}

  /** Every line program's file table, read once (the headers only: about a second for a distro vmlinux). */
  private allPrograms(): Promise<ProgramFiles[]> {
    this.programs ??= (async () => {
      const sections = this.dwarf.sections;
      const size = sections.sectionSize('.debug_line');
      const out: ProgramFiles[] = [];
      for (let offset = 0; offset < size; ) {
        const header = await readLineProgramHeader(sections, offset);
        out.push({ offset, files: header.files });
        offset += header.programEnd;
      }
      return out;
    })();
    return this.programs;
  }

  /** Answers already given: placing, deleting and placing again the same line costs one search. */
  private readonly answers = new Map<string, Promise<LineLocations>>();

  locations(file: string, line: number): Promise<LineLocations> {
    const key = `${file}:${line}`;
    let answer = this.answers.get(key);
    if (!answer) {
      answer = this.search(file, line);
      this.answers.set(key, answer);
      answer.catch(() => this.answers.delete(key)); // an error is said again, not remembered
      if (this.answers.size > 64) this.answers.delete(this.answers.keys().next().value!);
    }
    return answer;
  }

  private async search(file: string, line: number): Promise<LineLocations> {
    const programs = (await this.allPrograms()).filter((p) => p.files.some((f) => fileMatches(f, file)));
    if (programs.length === 0) throw new NotFoundError(`no source file named ${file} in ${this.dwarf.file}`);
    const tables = await this.tablesFor(file, programs);
    let chosen = line;
    let pcs = exactEntries(tables, line);
    if (pcs.length === 0) {
      const best = nearestLaterLine(tables, line);
      if (best === undefined) throw new NotFoundError(`no line ${line} in file "${file}" (${this.dwarf.file})`);
      chosen = best;
      pcs = exactEntries(tables, best);
    }
    const seenBlocks = new Set<number>();
    const locations: LineLocation[] = [];
    for (const { address, path } of pcs) {
      const where = await this.blockAt(address);
      if (where) {
        if (seenBlocks.has(where.block.offset)) continue;
        seenBlocks.add(where.block.offset);
      }
      // Prologue skipping applies only to a location at its function's very entry (gdb's skip_prologue_sal).
      const pc = where?.linkageEntry === address ? await this.dwarf.breakAddress(address) : address;
      const compDir = where && attrString(await where.unit.rootOnly(), DW_AT.comp_dir);
      const shortFile = compDir && path.startsWith(`${compDir}/`) ? path.slice(compDir.length + 1) : path;
      const fn = where?.function ? await this.dwarf.nameOf(where.function, where.unit) : undefined;
      locations.push({ address: pc, function: fn, file: path, shortFile, line: chosen });
    }
    locations.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    return { requestedLine: line, line: chosen, locations };
  }

  /** The last few files' tables: a second breakpoint in the same header does not read its units again. */
  private readonly recentTables = new Map<string, Promise<Map<string, LineEntry[]>[]>>();

  private tablesFor(file: string, programs: ProgramFiles[]): Promise<Map<string, LineEntry[]>[]> {
    let t = this.recentTables.get(file);
    if (!t) {
      t = (async () => {
        const out: Map<string, LineEntry[]>[] = [];
        for (const p of programs) out.push(await this.subfileTables(p.offset, file));
        return out;
      })();
      this.recentTables.set(file, t);
      // A failed search is not remembered: the next breakpoint on the file searches again and says why.
      t.catch(() => this.recentTables.delete(file));
      if (this.recentTables.size > 8) this.recentTables.delete(this.recentTables.keys().next().value!);
    }
    return t;
  }

  /**
   * The line table gdb builds for each subfile of one unit that matches `file`: entries in
   * address order, end-of-sequence markers (line 0) among them.
   */
  private async subfileTables(offset: number, file: string): Promise<Map<string, LineEntry[]>> {
    const sections = this.dwarf.sections;
    const header = await readLineProgramHeader(sections, offset);
    const tables = new Map<string, LineEntry[]>();
    const tableOf = (path: string | undefined): LineEntry[] | undefined => {
      if (path === undefined || !fileMatches(path, file)) return undefined;
      let t = tables.get(path);
      if (!t) tables.set(path, (t = []));
      return t;
    };
    // gdb's end marker: entries of the old subfile at this address give way to it.
    const finish = (path: string | undefined, address: bigint) => {
      const t = tableOf(path);
      if (!t) return;
      let lastLine: number | undefined;
      while (t.length) {
        const e = t[t.length - 1]!;
        lastLine = e.line;
        if (e.address !== address) break;
        t.pop();
      }
      if (lastLine !== undefined && lastLine !== 0) t.push({ address, line: 0, isStmt: true });
    };
    let lastPath: string | undefined;
    let lastLine = 0;
    let lastAddress = -1n;
    let previousRowLine = 0;
    let lineHasDiscriminator = false;
    runLineProgram(header, sections, (r) => {
      if (r.endSequence) {
        finish(lastPath, r.address);
        lastPath = undefined;
        lastLine = 0;
        lastAddress = -1n;
        previousRowLine = 0;
        lineHasDiscriminator = false;
        return;
      }
      lineHasDiscriminator = r.line !== previousRowLine ? r.discriminator !== 0 : lineHasDiscriminator || r.discriminator !== 0;
      previousRowLine = r.line;
      const path = header.files[r.file] ?? `<file ${r.file}>`;
      const fileChanged = path !== lastPath;
      const ignore = (fileChanged && r.address === lastAddress && !r.isStmt) || r.line === 0;
      lastAddress = r.address;
      if (ignore) return;
      if (fileChanged) finish(lastPath, r.address);
      if (fileChanged || r.line !== lastLine || !lineHasDiscriminator) tableOf(path)?.push({ address: r.address, line: r.line, isStmt: r.isStmt });
      lastPath = path;
      lastLine = r.line;
    });
    for (const t of tables.values()) {
      // Stable, by address; at one address an end marker comes first (gdb's lte_is_less_than).
      t.sort((a, b) => (a.address !== b.address ? (a.address < b.address ? -1 : 1) : (a.line === 0) === (b.line === 0) ? 0 : a.line === 0 ? -1 : 1));
    }
    return tables;
  }

  /**
   * The innermost block holding an address (gdb's block_for_pc: a function, an inlined call, or a
   * lexical block that declares variables), the innermost function around it, and the entry of
   * the out-of-line function.
   */
  private async blockAt(address: bigint): Promise<{ unit: DwarfUnit; block: Die; function?: Die; linkageEntry?: bigint } | undefined> {
    const unit = await this.dwarf.unitForAddress(address);
    if (!unit) return undefined;
    const root = await unit.scopes();
    const base = typeof root.attrs.get(DW_AT.low_pc) === 'bigint' ? (root.attrs.get(DW_AT.low_pc) as bigint) : 0n;
    let block: Die | undefined;
    let fn: Die | undefined;
    let linkageEntry: bigint | undefined;
    for (let scope = root; ; ) {
      let next: Die | undefined;
      for (const child of scope.children) {
        if (child.tag !== DW_TAG.subprogram && child.tag !== DW_TAG.inlined_subroutine && child.tag !== DW_TAG.lexical_block) continue;
        const ranges = await dieRanges(child, unit, this.dwarf.sections, base);
        if (!ranges.some((r) => r.start <= address && address < r.end)) continue;
        next = child;
        if (child.tag === DW_TAG.subprogram && linkageEntry === undefined) linkageEntry = ranges.reduce((m, r) => (r.start < m ? r.start : m), ranges[0]!.start);
        break;
      }
      if (!next) break;
      if (next.tag !== DW_TAG.lexical_block) {
        block = next;
        fn = next;
      } else if (await declaresVariables(unit, next)) block = next;
      scope = next;
    }
    return block ? { unit, block, function: fn, linkageEntry } : undefined;
  }
}

/** gdb makes a block of a lexical block only when something is declared in it. */
async function declaresVariables(unit: DwarfUnit, lexicalBlock: Die): Promise<boolean> {
  const full = await unit.subtree(lexicalBlock.offset);
  return (full?.children ?? []).some((c) => c.tag === DW_TAG.variable || c.tag === DW_TAG.formal_parameter);
}

/** Addresses of the entries for `line` with is_stmt, subfile by subfile, in address order. */
function exactEntries(tables: Map<string, LineEntry[]>[], line: number): { address: bigint; path: string }[] {
  const out: { address: bigint; path: string }[] = [];
  for (const unitTables of tables) {
    for (const [path, entries] of unitTables) {
      for (const e of entries) if (e.line === line && e.isStmt) out.push({ address: e.address, path });
    }
  }
  return out;
}

/** The smallest line after `line` with an is_stmt entry in any of the tables (gdb's best_entry). */
function nearestLaterLine(tables: Map<string, LineEntry[]>[], line: number): number | undefined {
  let best: number | undefined;
  for (const unitTables of tables) {
    for (const entries of unitTables.values()) {
      for (const e of entries) if (e.isStmt && e.line > line && (best === undefined || e.line < best)) best = e.line;
    }
  }
  return best;
}
