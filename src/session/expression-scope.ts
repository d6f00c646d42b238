import type { EngineSymbols } from '../expr/expression-engine.js';
import type { KernelSymbols } from './kernel-symbols.js';
import { isPerCpuOffset } from '../symbols/elf/per-cpu-section.js';

/** The expression engine's view of the kernel's symbols, KASLR slide applied. */
export function sessionEngineSymbols(symbols: KernelSymbols): EngineSymbols {
  const code = symbols.elf.sections.filter((sec) => (sec.flags & 0x4n) !== 0n && sec.addr !== 0n);
  const inCode = (a: bigint) => code.some((sec) => a >= sec.addr && a < sec.addr + BigInt(sec.size));
  return {
    symbolAt(address) {
      const link = address - symbols.slide;
      const hit = symbols.table.symbolize(link);
      if (!hit) return undefined;
      // gdb's rule: inside a sized symbol; a zero-size symbol only names code (an asm label).
      if (hit.size > 0 ? hit.offset >= BigInt(hit.size) : !inCode(link)) return undefined;
      return hit.offset === 0n ? hit.name : `${hit.name}+${hit.offset}`;
    },
    addressOf(name) {
      const s = symbols.table.lookup(name).find((x) => x.address !== 0n);
      return s ? (isPerCpuOffset(symbols.elf, s.address) ? s.address : s.address + symbols.slide) : undefined;
    },
    slide: () => symbols.slide,
    isPerCpu: (link) => isPerCpuOffset(symbols.elf, link),
  };
}
