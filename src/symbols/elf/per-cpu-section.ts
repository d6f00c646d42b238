import type { ElfFile } from './elf-file.js';

/**
 * The kernel's per-CPU rule, in one place: per-CPU variables live in `.data..percpu`, linked at
 * address 0, so a link-time address below its size is an offset into each CPU's area (add
 * `__per_cpu_offset[cpu]`), not an address, and the KASLR slide does not apply to it.
 */
export function isPerCpuOffset(elf: ElfFile, linkAddress: bigint): boolean {
  const percpu = elf.section('.data..percpu');
  return percpu !== undefined && percpu.addr === 0n && linkAddress < BigInt(percpu.size);
}
