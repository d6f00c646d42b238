import { NotFoundError } from '../errors.js';
import type { ProgressReporter } from '../progress/progress.js';
import { SHT_SYMTAB, SymbolTable, type ElfFile, type ElfSymbol } from '../symbols/elf/index.js';
import { markInnerLabels, readKallsyms } from '../symbols/kallsyms/index.js';
import { openKernelImage } from '../symbols/image/index.js';
import { OrcReg, OrcTable } from '../symbols/orc/index.js';
import { CallFrameInfo, DwarfInfo, type ExpressionContext, type SourceFrame } from '../symbols/dwarf/index.js';
import { BTF_KIND, BtfFile } from '../symbols/btf/index.js';
import { BtfProgramTypes } from '../expr/btf-program-types.js';
import { DwarfProgramTypes } from '../expr/dwarf-program-types.js';
import type { ProgramTypes } from '../expr/program-types.js';

export interface KernelSymbolsOptions {
  /** Use the file's DWARF when it has some (default true); false debugs from BTF as a kernel without a -dbg package would be. */
  dwarf?: boolean;
}

export interface SymbolizedAddress {
  function: string;
  offset: bigint;
}

/** kallsyms symbols with assembly inner labels told from functions (markInnerLabels), when BTF and ORC can tell. */
function kallsymsWithLabels(symbols: ElfSymbol[], btf: BtfFile | undefined, orc: OrcTable | undefined): ElfSymbol[] {
  if (!btf || !orc) return symbols;
  const isFunction = (name: string) => btf.lookup(name).some((id) => btf.type(id)?.kind === BTF_KIND.FUNC);
  const entersByCall = (address: bigint) => {
    const e = orc.find(address);
    return e !== undefined && e.type === 'call' && e.spReg === OrcReg.SP && e.spOffset === 8;
  };
  markInnerLabels(symbols, isFunction, entersByCall);
  return symbols;
}

/**
 * The kernel image's symbols as the session needs them: names to addresses, addresses to
 * names, ORC for unwinding, all shifted by the KASLR slide (0 with nokaslr).
 */
export class KernelSymbols {
  /** Run-time address minus link-time address of every image symbol. */
  slide = 0n;

  private constructor(
    readonly vmlinuxPath: string,
    readonly elf: ElfFile,
    readonly table: SymbolTable,
    readonly orc: OrcTable | undefined,
    /** Source-level information, when the file has DWARF. */
    readonly dwarf: DwarfInfo | undefined,
    /** The kernel's own type information (`.BTF`): types and prototypes when there is no DWARF. */
    readonly btf: BtfFile | undefined,
  ) {}

  static async open(vmlinuxPath: string, progress?: ProgressReporter, options: KernelSymbolsOptions = {}): Promise<KernelSymbols> {
    const task = progress?.start(`reading symbols of ${vmlinuxPath}`);
    try {
      // A bzImage is unpacked (once, into the cache) to the stripped vmlinux inside it.
      const { elf } = await openKernelImage(vmlinuxPath, progress);
      const orc = elf.section('.orc_unwind_ip') ? await OrcTable.fromElf(elf) : undefined;
      const hasSymtab = elf.sections.some((x) => x.type === SHT_SYMTAB);
      const wantDwarf = options.dwarf !== false && elf.section('.debug_info') !== undefined;
      const btf = !wantDwarf && elf.section('.BTF') ? BtfFile.parse(await elf.readSection('.BTF'), vmlinuxPath) : undefined;
      // A stripped image (one unpacked from a bzImage) has no .symtab: the kernel's own kallsyms then name everything.
      const table = hasSymtab ? await SymbolTable.fromElf(elf) : SymbolTable.fromSymbols(kallsymsWithLabels((await readKallsyms(elf)).symbols, btf, orc));
      const dwarf = wantDwarf ? await DwarfInfo.open(elf, table) : undefined;
      task?.finish();
      const symbols = new KernelSymbols(vmlinuxPath, elf, table, orc, dwarf, btf);
      const notice = symbols.debugInfoNotice();
      if (notice) progress?.note(notice);
      return symbols;
    } catch (err) {
      task?.fail();
      throw err;
    }
  }

  private programTypes: ProgramTypes | undefined;

  /** Types, globals and prototypes for expressions: from DWARF, else from BTF; undefined with neither. */
  types(): ProgramTypes | undefined {
    this.programTypes ??= this.dwarf ? new DwarfProgramTypes(this.dwarf) : this.btf ? new BtfProgramTypes(this.btf) : undefined;
    return this.programTypes;
  }

  /** What debugging this kernel lacks, said once when a session opens (undefined with DWARF). */
  debugInfoNotice(): string | undefined {
    if (this.dwarf) return undefined;
    if (this.btf) return `${this.vmlinuxPath} has no DWARF: debugging from BTF and ${this.elf.sections.some((x) => x.type === SHT_SYMTAB) ? 'the symbol table' : 'kallsyms'} (no line numbers, no locals, arguments only at a function's entry)`;
    return `${this.vmlinuxPath} has neither DWARF nor BTF: symbols only (no types, no expressions over kernel variables)`;
  }

  /**
   * A breakpoint location as a user writes it: a function name, or `*ADDRESS`.
   * Unknown names fail with close matches, before anything is booted.
   */
  resolveLocation(location: string): bigint {
    const star = /^\*\s*(0x[0-9a-fA-F]+|\d+)$/.exec(location.trim());
    if (star) return BigInt(star[1]!);
    const address = this.table.functionAddress(location);
    if (address === undefined) {
      const near = this.table.closeMatches(location, 5);
      const hint = near.length ? ` (did you mean: ${near.join(', ')}?)` : '';
      throw new NotFoundError(`no function named '${location}' in ${this.vmlinuxPath}${hint}`);
    }
    return address + this.slide;
  }

  /**
   * Checks a breakpoint location before anything boots: a function, `*ADDRESS`, or FILE:LINE
   * (which must have code, or a later line with code, in the file).
   */
  async checkLocation(location: string): Promise<void> {
    const fileLine = /^(.+\.[chS]):(\d+)$/.exec(location.trim());
    if (!fileLine) {
      this.resolveLocation(location);
      return;
    }
    if (!this.dwarf) throw new NotFoundError(`${this.vmlinuxPath} has no DWARF: cannot place a breakpoint at ${location}`);
    await this.dwarf.lineLocations(fileLine[1]!, Number(fileLine[2]));
  }

  /** `function+offset` for a run-time address; `lookupAddress` lets callers pass pc-1 for return addresses. */
  symbolize(address: bigint, lookupAddress = address): SymbolizedAddress | undefined {
    const hit = this.table.symbolize(lookupAddress - this.slide);
    if (!hit) return undefined;
    return { function: hit.name, offset: address - this.slide - hit.address };
  }

  /** The function (ELF symbol) containing a run-time address, at its run-time start. */
  functionAt(address: bigint): { name: string; start: bigint; size: number } | undefined {
    const hit = this.table.symbolize(address - this.slide);
    return hit && { name: hit.name, start: hit.address + this.slide, size: hit.size };
  }

  /** gdb's `info line FILE:LINE|FUNCTION`: where that line's code is, in run-time addresses. */
  async infoLine(spec: string): Promise<{ file: string; shortFile: string; line: number; ranges: { start: bigint; end: bigint }[] }> {
    if (!this.dwarf) throw new NotFoundError(`${this.vmlinuxPath} has no DWARF: no line information`);
    const where = await this.dwarf.infoLine(spec);
    return { ...where, ranges: where.ranges.map((r) => ({ start: r.start + this.slide, end: r.end + this.slide })) };
  }

  /** Source frames at a run-time address (innermost inlined function first); empty without DWARF. */
  async sourceFrames(address: bigint, frame?: ExpressionContext): Promise<SourceFrame[]> {
    if (!this.dwarf) return [];
    try {
      return await this.dwarf.addr2line(address - this.slide, frame);
    } catch {
      // Bad DWARF in one unit must not cost the user the backtrace: the frame keeps its symbol.
      return [];
    }
  }

  private cfi: Promise<CallFrameInfo | undefined> | undefined;

  /** `.debug_frame`, read on first use (it recovers callee-saved registers of caller frames). */
  callFrameInfo(): Promise<CallFrameInfo | undefined> {
    // .debug_frame that cannot be read is no .debug_frame: callee-saved registers in caller frames are
    // then printed <unavailable>, never guessed (the unwinder itself uses ORC).
    // No readable .debug_frame: caller frames then get only what ORC gives (sp, pc), as without CFI.
    this.cfi ??= this.dwarf ? CallFrameInfo.read(this.dwarf.sections).catch(() => undefined) : Promise.resolve(undefined);
    return this.cfi;
  }

  async close(): Promise<void> {
    await this.elf.close();
  }
}
