import { NotFoundError } from '../../errors.js';
import { programTypeLayout } from '../../expr/ctype-layout.js';
import { typeToString } from '../../expr/c-types.js';
import { KernelSymbols } from '../../session/kernel-symbols.js';
import { BtfProgramTypes } from '../../expr/btf-program-types.js';
import { BtfFile } from '../../symbols/btf/index.js';
import type { ElfFile } from '../../symbols/elf/index.js';
import type { TypeLayout } from '../../symbols/dwarf/index.js';
import { isPerCpuOffset } from '../../symbols/elf/per-cpu-section.js';
import { hex } from '../output/hex.js';

/**
 * `kdive sym` on an image without DWARF (a bzImage, a stripped vmlinux): names from the symbol
 * table or kallsyms, types from BTF. There are no lines: addr2line answers function+offset.
 */
export class SymbolsWithoutDwarf {
  private opened: Promise<KernelSymbols> | undefined;

  /** `elf` is the image (a bzImage's already unpacked); the symbols (kallsyms: 0.2 s) are read only for the queries that need them. */
  constructor(private readonly file: string, private readonly elf: ElfFile) {}

  private symbols(): Promise<KernelSymbols> {
    this.opened ??= KernelSymbols.open(this.file);
    return this.opened;
  }

  async close(): Promise<void> {
    if (this.opened) await (await this.opened).close();
    await this.elf.close();
  }

  /** addr2line: the function and offset of each address. */
  async addr2line(address: bigint): Promise<{ function: string; offset: string } | undefined> {
    const hit = (await this.symbols()).symbolize(address);
    return hit && { function: hit.function, offset: hex(hit.offset) };
  }

  /** A function (entry address and BTF prototype) or a variable (address and type). */
  async lookup(name: string): Promise<Record<string, unknown>> {
    const symbols = await this.symbols();
    const types = symbols.types();
    const fn = symbols.table.functionAddress(name);
    if (fn !== undefined) {
      const proto = await types?.functionType(name);
      // Without DWARF there is no frame set-up to skip: a breakpoint goes at the entry.
      return { name, kind: 'function', address: hex(fn), breakAddress: hex(fn), file: null, shortFile: null, line: null, type: proto ? typeToString(proto) : null };
    }
    const sym = symbols.table.lookup(name).find((s) => s.address !== 0n || isPerCpuOffset(symbols.elf, s.address));
    const variable = await types?.globalVariable(name);
    if (!sym && !variable) {
      const near = symbols.table.closeMatches(name, 5);
      throw new NotFoundError(`no function or variable named '${name}' in ${this.file}${near.length ? ` (did you mean: ${near.join(', ')}?)` : ''}`);
    }
    return { name, kind: 'variable', address: sym ? hex(sym.address) : null, type: variable ? typeToString(variable.type) : null, perCpu: sym ? isPerCpuOffset(symbols.elf, sym.address) : false };
  }

  /** From the image's BTF alone: no symbols needed, so a cold ptype reads one section. */
  async ptype(spec: string, flat: boolean): Promise<TypeLayout> {
    if (!this.elf.section('.BTF')) throw new NotFoundError(`${this.file} has neither DWARF nor BTF: no types`);
    const types = new BtfProgramTypes(BtfFile.parse(await this.elf.readSection('.BTF'), this.file));
    return programTypeLayout(types, spec, this.file, { flat });
  }
}
