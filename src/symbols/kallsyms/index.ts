import type { ElfFile } from '../elf/elf-file.js';
import type { ElfSymbol } from '../elf/symbol-table.js';
import { decodeKallsyms } from './kallsyms-decoder.js';
import { locateKallsyms } from './kallsyms-locator.js';
import { kallsymsToElfSymbols } from './kallsyms-symbols.js';
import type { KallsymsBytes, KallsymsTables } from './kallsyms-tables.js';

export { decodeKallsyms, type KallsymsSymbol } from './kallsyms-decoder.js';
export { locateKallsyms } from './kallsyms-locator.js';
export { markInnerLabels } from './inner-labels.js';
export { isPerCpu, kallsymsToElfSymbols, KALLSYMS_PERCPU_SECTION, KALLSYMS_SECTION } from './kallsyms-symbols.js';
export { slideTables, type KallsymsBytes, type KallsymsTables } from './kallsyms-tables.js';

/**
 * The kernel's symbols from the kallsyms tables in an image's `.rodata`, for a vmlinux without
 * `.symtab` (one unpacked from a bzImage). Link-time addresses; `tables` says where they were.
 */
export async function readKallsyms(elf: ElfFile): Promise<{ symbols: ElfSymbol[]; tables: KallsymsTables }> {
  const { tables, symbols } = await locateKallsyms(elf);
  return { symbols: kallsymsToElfSymbols(symbols), tables };
}

/**
 * The same from a running kernel: `tables` at run-time addresses (slideTables of the located ones
 * by the KASLR slide), read through `memory`. Addresses come out slid, per-CPU offsets not.
 */
export async function readKallsymsFrom(tables: KallsymsTables, memory: KallsymsBytes): Promise<ElfSymbol[]> {
  return kallsymsToElfSymbols(await decodeKallsyms(tables, memory));
}
