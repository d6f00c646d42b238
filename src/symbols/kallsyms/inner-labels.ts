import type { ElfSymbol } from '../elf/symbol-table.js';
import { isPerCpu } from './kallsyms-symbols.js';

/**
 * kallsyms has no sizes, so a label inside an assembly function (`SYM_INNER_LABEL`, such as
 * `entry_SYSCALL_64_after_hwframe` inside `entry_SYSCALL_64`) would name the rest of that function,
 * where the ELF symbol table (and gdb) name the function. A code symbol is taken as such a label when
 *   - its name extends the code symbol before it (`entry_SYSCALL_64` + `_after_hwframe`),
 *   - the kernel's BTF does not list it as a function (C functions are in BTF, labels never), and
 *   - execution does not enter it by a call: ORC at its address is not a fresh call frame (return
 *     address just pushed), as it is at every function's first instruction (`memcpy_orig` after `memcpy`).
 * A label becomes a zero-size `notype` symbol, still found by name, and the function before it
 * extends over it to the next symbol.
 */
export function markInnerLabels(symbols: ElfSymbol[], isBtfFunction: (name: string) => boolean, entersByCall: (address: bigint) => boolean): number {
  const code = symbols.filter((s) => !isPerCpu(s) && s.type === 'func').sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  let owner: ElfSymbol | undefined;
  let marked = 0;
  for (const s of code) {
    const isLabel = owner !== undefined && s.address > owner.address && s.name.startsWith(`${owner.name}_`) && !isBtfFunction(s.name) && !entersByCall(s.address);
    if (isLabel) {
      owner!.size = Number(s.address - owner!.address) + s.size;
      s.type = 'notype';
      s.size = 0;
      marked++;
    } else owner = s;
  }
  return marked;
}
