import { NotFoundError } from '../../errors.js';
import { programTypeLayout } from '../../expr/ctype-layout.js';
import { typeToString } from '../../expr/c-types.js';
import type { KernelSymbols } from '../../session/kernel-symbols.js';
import type { TypeLayout } from '../../symbols/dwarf/index.js';
import { isPerCpuOffset } from '../../symbols/elf/per-cpu-section.js';
import { hex } from '../output/hex.js';

/**
 * `kdive sym` on an image without DWARF (a bzImage, a stripped vmlinux): names from the symbol
 * table or kallsyms, types from BTF. There are no lines: addr2line answers function+offset.
 */
export class SymbolsWithoutDwarf {
  constructor(private readonly symbols: KernelSymbols) {}

  /** addr2line: the function and offset of each address. */
  addr2line(address: bigint): { function: string; offset: string } | undefined {
    const hit = this.symbols.symbolize(address);
    return hit && { function: hit.function, offset: hex(hit.offset) };
  }

  /** A function (entry address and BTF prototype) or a variable (address and type). */
  async lookup(name: string): Promise<Record<string, unknown>> {
    const types = this.symbols.types();
    const fn = this.symbols.table.functionAddress(name);
    if (fn !== undefined) {
      const proto = await types?.functionType(name);
      // Without DWARF there is no frame set-up to skip: a breakpoint goes at the entry.
      return { name, kind: 'function', address: hex(fn), breakAddress: hex(fn), file: null, shortFile: null, line: null, type: proto ? typeToString(proto) : null };
    }
    const sym = this.symbols.table.lookup(name).find((s) => s.address !== 0n || isPerCpuOffset(this.symbols.elf, s.address));
    const variable = await types?.globalVariable(name);
    if (!sym && !variable) {
      const near = this.symbols.table.closeMatches(name, 5);
      throw new NotFoundError(`no function or variable named '${name}' in ${this.symbols.vmlinuxPath}${near.length ? ` (did you mean: ${near.join(', ')}?)` : ''}`);
    }
    return { name, kind: 'variable', address: sym ? hex(sym.address) : null, type: variable ? typeToString(variable.type) : null, perCpu: sym ? isPerCpuOffset(this.symbols.elf, sym.address) : false };
  }

  ptype(spec: string, flat: boolean): Promise<TypeLayout> {
    const types = this.symbols.types();
    if (!types) throw new NotFoundError(`${this.symbols.vmlinuxPath} has neither DWARF nor BTF: no types`);
    return programTypeLayout(types, spec, this.symbols.vmlinuxPath, { flat });
  }
}
